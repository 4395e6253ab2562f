#!/usr/bin/env bash
# Install wrk, the load generator the benchmark drives, if it is not on PATH: with apt-get, as
# root or through sudo without a password. Exit status 0 when wrk is there afterwards; 1, with
# the reason on stderr, when it could not be installed (another system, no root, no network).
set -euo pipefail
command -v wrk >/dev/null 2>&1 && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "wrk is not installed and there is no apt-get here: install wrk (https://github.com/wg/wrk)" >&2
    exit 1
fi
if [ "$(id -u)" = 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "wrk is not installed, and installing it needs root: sudo apt-get install wrk" >&2
    exit 1
fi
echo "installing wrk (apt-get install wrk)..." >&2
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or stale (a fresh container): fetched only when needed.
if ! "${as_root[@]}" apt-get install -y -q wrk >&2; then
    "${as_root[@]}" apt-get update -q >&2 || true
    "${as_root[@]}" apt-get install -y -q wrk >&2 || {
        echo "apt-get could not install wrk (see above)" >&2
        exit 1
    }
fi
command -v wrk >/dev/null 2>&1
