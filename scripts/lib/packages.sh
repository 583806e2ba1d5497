# shellcheck shell=bash
# Installs the Debian packages the project needs that are missing. Needs root (or sudo).
ROLLBACK_APT_PACKAGES=(
    libhiredis-dev libgit2-dev libzip-dev libcurl4-openssl-dev zlib1g-dev pkg-config   # C libraries linked
    redis-server postgresql-15 postgresql-client-15     # services for tests and the demo
    zip unzip git curl python3 ca-certificates procps openssl  # test fixtures and scripts (openssl: test certificates)
    chromium chromium-driver python3-venv              # the console's browser test (selenium comes from PyPI)
)

# Prints the packages of ROLLBACK_APT_PACKAGES that are not installed, space-separated.
missing_packages() {
    local missing=()
    for package in "${ROLLBACK_APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    echo "${missing[*]}"
}

install_missing_packages() {
    local missing=()
    read -r -a missing <<<"$(missing_packages)"
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    # --no-upgrade: never upgrade what is already installed as a side effect.
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-upgrade "${missing[@]}" >/dev/null
}
