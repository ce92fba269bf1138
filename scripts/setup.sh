#!/usr/bin/env bash
# Installs the Debian packages netburi needs, if any is missing. Idempotent:
# does nothing when all are there. Uses apt-get as root, sudo otherwise.
set -euo pipefail

packages=(
  gcc pkg-config libenet-dev   # cgo and ENet 1.3.17
  curl                         # scripts/loadprofile.sh reads the server's metrics and profile
  godot3-server                # a real Godot 3.2.3 peer for interop tests
  xvfb                         # a display for the demo's screenshot tests
  libgl1-mesa-dev libx11-dev libxrandr-dev libxcursor-dev libxinerama-dev
  libxi-dev libxxf86vm-dev libasound2-dev   # what Ebiten builds against
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  apt=(env DEBIAN_FRONTEND=noninteractive apt-get)
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  apt=(sudo env DEBIAN_FRONTEND=noninteractive apt-get)
else
  echo "setup: cannot install packages (not root, no sudo). Please install: ${missing[*]}" >&2
  exit 1
fi
"${apt[@]}" update -q
"${apt[@]}" install -y -q --no-install-recommends "${missing[@]}"
