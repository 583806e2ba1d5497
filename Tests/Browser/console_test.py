#!/usr/bin/env python3
"""The console in a real browser (headless Chromium through chromedriver and Selenium), against
the system scripts/quickstart leaves running:

  console_test.py QUICKSTART_DIR BIN_DIR SCREENSHOT_DIR

As alice (operator): signs in through a `rollbackctl console` link, opens project demo, rolls it
back with a reason, watches the bar reach 100 %, finds the new timeline entry with her name. As
victor (viewer): sees no buttons, and a forged POST from his session is refused with 403. Saves
a screenshot of each step. Exits non-zero on the first failed check, with the page's text.
"""
import json
import os
import subprocess
import sys

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

DIR, BIN, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
URL = open(os.path.join(DIR, "broker.url")).read().strip()
os.makedirs(OUT, exist_ok=True)


def link(actor):
    return subprocess.check_output([os.path.join(BIN, "rollbackctl"), "console", "--broker-url", URL,
                                    "--broker-keyring", os.path.join(DIR, actor + "-keyring.json")]).decode().strip()


def shot(driver, name):
    path = os.path.join(OUT, name + ".png")
    driver.save_screenshot(path)
    print("  screenshot", path)


def check(condition, what, driver):
    if not condition:
        shot(driver, "failure")
        raise SystemExit("FAILED: %s\n--- page ---\n%s" % (what, driver.find_element(By.TAG_NAME, "body").text))
    print("  ok:", what)


options = Options()
for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,1000"):
    options.add_argument(argument)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
wait = WebDriverWait(driver, 30)
try:
    print("== alice (operator)")
    driver.get(link("alice"))
    wait.until(EC.text_to_be_present_in_element((By.ID, "who"), "alice · operator"))
    check(driver.current_url.endswith("/console/"), "the link became a session and the console", driver)
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, 'tr[data-project="demo"]')))
    shot(driver, "1-projects")
    driver.find_element(By.CSS_SELECTOR, 'a[href="#/projects/demo"]').click()
    wait.until(EC.presence_of_element_located((By.ID, "rollback-form")))
    before = len(driver.find_elements(By.CSS_SELECTOR, '#timeline tr[data-kind="rollbackCompleted"]'))
    Select(driver.find_element(By.NAME, "target")).select_by_value("previous")
    driver.find_element(By.ID, "preview-button").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "preview"), "changed"))
    check("new-feature.txt" in driver.find_element(By.ID, "preview").text, "the preview lists the files", driver)
    driver.find_element(By.NAME, "reason").send_keys("console test: back to the previous version")
    driver.find_element(By.ID, "rollback").click()
    WebDriverWait(driver, 10).until(EC.alert_is_present())
    driver.switch_to.alert.accept()
    WebDriverWait(driver, 60).until(EC.text_to_be_present_in_element((By.ID, "progress-label"), "100 %"))
    width = driver.find_element(By.CSS_SELECTOR, "#progress > span").get_attribute("style")
    check("100%" in width, "the bar reached 100 %% (%s)" % width, driver)
    WebDriverWait(driver, 30).until(lambda d: len(d.find_elements(
        By.CSS_SELECTOR, '#timeline tr[data-kind="rollbackCompleted"]')) > before)
    entry = driver.find_elements(By.CSS_SELECTOR, '#timeline tr[data-kind="rollbackCompleted"]')[0]
    check("alice" in entry.find_element(By.CLASS_NAME, "actor").text, "the new timeline entry names alice", driver)
    check("console test" in entry.text, "and carries the reason", driver)
    shot(driver, "2-rolled-back")

    print("== victor (viewer)")
    driver.delete_all_cookies()
    driver.get(link("victor"))
    wait.until(EC.text_to_be_present_in_element((By.ID, "who"), "victor · viewer"))
    driver.get(URL + "/console/#/projects/demo")
    wait.until(EC.presence_of_element_located((By.ID, "timeline")))
    check(not driver.find_elements(By.ID, "actions") and not driver.find_elements(By.TAG_NAME, "form"),
          "a viewer sees no buttons", driver)
    lines = driver.find_element(By.TAG_NAME, "body").text.split("\n")
    check("null" not in lines and "undefined" not in lines, "no stray null or undefined on the page", driver)
    status = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch('/console/session').then(r => r.json()).then(s => fetch('/v1/versions/rollback', {
          method: 'POST', headers: {'Content-Type': 'application/json', 'X-Rollback-CSRF': s.csrfToken},
          body: JSON.stringify({userId: 'victor', projectId: 'demo', targetVersionId: 'previous', reason: 'forged'})
        })).then(r => r.json().then(b => done([r.status, b.error && b.error.code])));
    """)
    check(status == [403, "role_required"], "a forged POST from the viewer's session is refused: %s" % status, driver)
    shot(driver, "3-viewer")
    print("console test passed")
finally:
    driver.quit()
