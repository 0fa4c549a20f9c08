#!/usr/bin/env bash
# Installs what video-dataset needs on Debian 12 (bookworm), idempotently.
#   scripts/setup.sh          GStreamer runtime + build dependencies (run the examples)
#   scripts/setup.sh --test   also the tools the tests use (ffmpeg CLI, gst-launch-1.0, chromium)
set -euo pipefail

packages=(
  pkg-config
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav
  libturbojpeg0-dev
)
if [[ "${1:-}" == "--test" ]]; then
  # chromium: headless, renders the index.html of tests/contact_sheets.rs to a screenshot.
  packages+=(ffmpeg gstreamer1.0-tools python3-pip curl chromium)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The S3 tests run against moto's S3 server on 127.0.0.1 (PyPI: moto[server]).
if [[ "${1:-}" == "--test" ]] && ! python3 -c "import moto.server, flask" >/dev/null 2>&1; then
  echo "setup: installing moto[server] (S3 server for the tests)" >&2
  python3 -m pip install -q --disable-pip-version-check 'moto[server]' >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found: install Rust 1.95 or newer (https://rustup.rs)" >&2
  exit 1
fi
