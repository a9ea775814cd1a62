#!/bin/sh
# deps.sh: install the Debian packages the build, the emulators and the tests need.
# Idempotent: installs only what is missing; uses sudo when not root.
set -eu

PKGS="gcc make binutils nasm gdb python3 \
grub-common grub-pc-bin grub-efi-amd64-bin xorriso mtools \
qemu-system-x86 ovmf seabios \
bochs bochs-term bochsbios vgabios \
libcmocka-dev pkg-config"
# apt-get source (scripts/zydis.sh) unpacks with dpkg-source.
PKGS="$PKGS dpkg-dev"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
