#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine: system packages
# (Chromium for the browser test, libsndfile, MPD + mpc for the playlist test) and the package
# with its dev extras, with the test tools pinned to versions known to work together
# (constraints/test.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium libsndfile1 mpd mpc mpv >/dev/null
fi
python -m pip install -q --upgrade pip
python -m pip install -q -c constraints/test.txt -e '.[dev]'
