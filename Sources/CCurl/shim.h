#ifndef ROLLBACK_CCURL_SHIM_H
#define ROLLBACK_CCURL_SHIM_H
// curl_easy_setopt and curl_easy_getinfo are variadic and unavailable in Swift; these typed
// wrappers are the only way the agent sets options.
#include <curl/curl.h>

static inline CURLcode rollback_curl_set_long(CURL *curl, CURLoption option, long value) {
    return curl_easy_setopt(curl, option, value);
}
static inline CURLcode rollback_curl_set_string(CURL *curl, CURLoption option, const char *value) {
    return curl_easy_setopt(curl, option, value);
}
static inline CURLcode rollback_curl_set_pointer(CURL *curl, CURLoption option, void *value) {
    return curl_easy_setopt(curl, option, value);
}
static inline CURLcode rollback_curl_set_offset(CURL *curl, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(curl, option, value);
}
typedef size_t (*rollback_curl_write_callback)(char *data, size_t size, size_t count, void *context);
static inline CURLcode rollback_curl_set_write_function(CURL *curl, rollback_curl_write_callback callback) {
    return curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, callback);
}
typedef int (*rollback_curl_progress_callback)(void *context, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);
static inline CURLcode rollback_curl_set_progress_function(CURL *curl, rollback_curl_progress_callback callback) {
    return curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, callback);
}
static inline CURLcode rollback_curl_response_code(CURL *curl, long *code) {
    return curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, code);
}
#endif
