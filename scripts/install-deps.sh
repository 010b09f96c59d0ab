#!/usr/bin/env bash
# Installs what a fresh Debian machine with rustup lacks for building and testing Playground.
# Idempotent: packages already present are skipped; without root it only reports.
set -euo pipefail

# Debian packages the build and the tests need beyond the base image. python3-venv: the MCP
# tests run the Python `mcp` client from a virtualenv. The window test runs the editor under
# Xvfb with Mesa's software Vulkan (mesa-vulkan-drivers, libvulkan1; the egui_kittest UI
# tests render with it too) and screenshots it with ImageMagick's `import`; winit's X11
# backend needs libxkbcommon-x11-0; xdotool types real keys into the window for the test that
# edits the editor inside itself. The editor's folder dialog (rfd, xdg-portal backend) needs
# nothing to build: it opens libdbus-1.so.3 at run time, and without a portal (Xvfb, CI) the
# editor says no dialog is available. g++: the check of the fuzz targets builds libFuzzer (C++).
PACKAGES=(g++ pkg-config python3 python3-venv xvfb xauth xdotool mesa-vulkan-drivers libvulkan1 imagemagick libxkbcommon-x11-0)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  elif command -v sudo >/dev/null; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "install-deps: please install: ${missing[*]}" >&2
    exit 1
  fi
fi

rustup component add rustfmt clippy >/dev/null 2>&1 || true

# cargo-hakari keeps workspace-hack/ (the features every build agrees on) up to date:
# scripts/check.sh verifies it. The editor itself needs no cargo-hakari (it links the hakari
# library, module-loader/src/shared.rs).
if ! cargo hakari --version 2>/dev/null | grep -q "0.9.39"; then
  cargo install cargo-hakari --version 0.9.39 --locked
fi

# The Python MCP client the MCP tests talk to (target/mcp-venv; needs PyPI).
bash "$(dirname "${BASH_SOURCE[0]}")/mcp-venv.sh"
