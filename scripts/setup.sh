#!/usr/bin/env bash
# One-time set-up on a fresh Debian/Ubuntu machine: system packages (from packages.txt, plus a
# compiler and Python headers when missing), then .venv from requirements-dev.txt.
# With --browser it also installs Debian's chromium for the browser tests (never a browser
# download). Safe to re-run; it installs only what is missing.
# Elsewhere (no apt-get: macOS, Fedora, Arch...) it installs no system packages, except cddlib
# and GMP through Homebrew on a Mac that has it; it says what to install, and where pycddlib
# cannot be built it sets up everything else: conecore then uses its own exact double
# description (pycddlib is optional: the same rays, their order possibly not).
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

DEBIAN=0
if command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1; then DEBIAN=1; fi

missing=()
if [ "$DEBIAN" = 1 ]; then
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
else
  echo "setup: not a Debian/Ubuntu system (no apt-get): no system packages are installed here."
  echo "setup: needed: Python 3.11+ with venv; for pycddlib (optional: conecore has its own exact"
  echo "setup: double description) a C compiler and cddlib and GMP with their headers, e.g."
  echo "setup:   macOS: xcode-select --install; brew install cddlib gmp"
  echo "setup:   Fedora: dnf install gcc python3-devel cddlib-devel gmp-devel"
  echo "setup:   Arch: pacman -S base-devel cddlib gmp"
  if [ "$WANT_BROWSER" = 1 ] && [ ! -x /usr/bin/chromium ]; then
    echo "setup: no /usr/bin/chromium: the browser tests will be skipped"
  fi
  if [ "$(uname -s)" = Darwin ] && command -v brew >/dev/null 2>&1; then
    for pkg in cddlib gmp; do
      brew list --versions "$pkg" >/dev/null 2>&1 || brew install "$pkg" || true
    done
    BREW="$(brew --prefix)"  # where pycddlib's build finds cddlib/ and gmp.h
    export CFLAGS="-I$BREW/include ${CFLAGS:-}" LDFLAGS="-L$BREW/lib ${LDFLAGS:-}"
  fi
  if [ -z "$PYTHON" ]; then
    echo "setup: no python3.11 or python3 found: install Python 3.11 or newer" >&2
    exit 1
  fi
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
# Everything but pycddlib first, then pycddlib (it compiles against cddlib and GMP): on Debian
# its failure stops the set-up (packages.txt should have made it build), elsewhere the rest is
# set up and conecore uses its own exact double description.
# >>> the requirements without pycddlib (tests/scripts/test_setup.py runs these lines)
grep -v -i '^pycddlib' requirements-app.txt > .venv/requirements-app-nocdd.txt
sed 's#^-r requirements-app.txt#-r requirements-app-nocdd.txt#' requirements-dev.txt \
  > .venv/requirements-dev-nocdd.txt
CDD="$(grep -i '^pycddlib' requirements-app.txt | sed 's/[[:space:]]*#.*//')"
# <<<
.venv/bin/python -m pip install -q -r .venv/requirements-dev-nocdd.txt
if ! .venv/bin/python -m pip install -q "$CDD" > .venv/pycddlib-build.log 2>&1; then
  if [ "$DEBIAN" = 1 ]; then
    cat .venv/pycddlib-build.log >&2
    echo "setup: pycddlib did not build, although libcdd-dev and libgmp-dev are installed" >&2
    exit 1
  fi
  { grep -m 1 "fatal error" .venv/pycddlib-build.log || tail -n 3 .venv/pycddlib-build.log; } \
    | sed 's/^ */setup:   /'
  echo "setup: WARNING: pycddlib ($CDD) did not build (the whole log: .venv/pycddlib-build.log):"
  echo "setup: it needs a C compiler, and cddlib and GMP with their headers (see above)."
  echo "setup: Everything else is set up, and conecore uses its own exact double description"
  echo "setup: (the same rays). Install them and run this again to add pycddlib."
fi
touch .venv/.installed
[ "$WANT_BROWSER" = 1 ] && touch .venv/.installed-browser
echo "setup: done (.venv ready)"
