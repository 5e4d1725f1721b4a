#!/bin/sh
# The system packages `make test` drives: curl (the documentation's curl examples, run verbatim), wrk (the
# benchmark's smoke run), Debian's chromium and chromium-driver (the dashboard and documentation pages).
# Installs what is missing where it can (root on Debian or Ubuntu); otherwise stops at once with the command.
set -eu
missing=""
command -v curl >/dev/null 2>&1 || missing="$missing curl"
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v chromedriver >/dev/null 2>&1 || missing="$missing chromium-driver"
missing=${missing# }
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing $missing (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    exit 0
fi
echo "make test needs: $missing" >&2
if command -v apt-get >/dev/null 2>&1; then
    echo "run:  sudo apt-get install -y $missing   (then make test again)" >&2
else
    echo "install them with your system's package manager (Debian names: $missing), then make test again" >&2
fi
exit 1
