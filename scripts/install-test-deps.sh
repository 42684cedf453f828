#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine: system packages
# (Chromium for the browser test, sox/ffmpeg-free audio tools) and the package with its dev extras.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium libsndfile1 >/dev/null
fi
python -m pip install -q -e '.[dev]'
