#!/usr/bin/env bash
# Install Debian's chromium at /usr/bin/chromium, the browser the console's browser tests drive
# (Playwright never downloads one of its own), if it is not there: with apt-get, as root or
# through sudo without a password. Exit status 0 when /usr/bin/chromium is there afterwards; 1,
# with the reason on stderr, when it could not be installed (another system, no root, no network).
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium is not installed at /usr/bin/chromium and there is no apt-get here:" \
        "install Chromium there (Debian: apt-get install chromium)" >&2
    exit 1
fi
if [ "$(id -u)" = 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "chromium is not installed, and installing it needs root: sudo apt-get install chromium" >&2
    exit 1
fi
echo "installing chromium (apt-get install chromium)..." >&2
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or stale (a fresh container): fetched only when needed.
if ! "${as_root[@]}" apt-get install -y -q --no-install-recommends chromium >&2; then
    "${as_root[@]}" apt-get update -q >&2 || true
    "${as_root[@]}" apt-get install -y -q --no-install-recommends chromium >&2 || {
        echo "apt-get could not install chromium (see above)" >&2
        exit 1
    }
fi
[ -x /usr/bin/chromium ]
