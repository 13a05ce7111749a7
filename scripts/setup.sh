#!/usr/bin/env bash
# One-time set-up on a fresh Debian/Ubuntu machine: system packages (from packages.txt, plus a
# compiler and Python headers when missing), then .venv from requirements-dev.txt.
# With --browser it also installs Debian's chromium for the browser tests (never a browser
# download). Safe to re-run; it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
WANT_BROWSER=0
[ "${1:-}" = "--browser" ] && WANT_BROWSER=1

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then PYTHON="$candidate"; break; fi
  done
fi

missing=()
for pkg in $(grep -v '^\s*#' packages.txt); do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
command -v gcc >/dev/null 2>&1 || missing+=(build-essential)
if [ "$WANT_BROWSER" = 1 ] && [ ! -x /usr/bin/chromium ]; then missing+=(chromium); fi
if [ -z "$PYTHON" ]; then
  missing+=(python3 python3-venv python3-dev)
  PYTHON=python3
else
  "$PYTHON" -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
    || missing+=(python3-dev)
  "$PYTHON" -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
  elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "setup: these Debian packages are missing: ${missing[*]}" >&2
    echo "setup: run as root, or install them with: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "setup: Python 3.11 or newer is needed; $PYTHON is $("$PYTHON" --version)" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
bash scripts/install_torch.sh .venv/bin/python
.venv/bin/python -m pip install -q -r requirements-dev.txt
touch .venv/.installed
[ "$WANT_BROWSER" = 1 ] && touch .venv/.installed-browser
echo "setup: done (.venv ready)"
