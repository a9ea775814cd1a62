#!/bin/sh
# mkiso.sh OUT.iso HV.elf "COMMAND LINE" [MODULE "MODULE LINE"]...
# Builds a hybrid GRUB ISO (BIOS and UEFI; CD or USB stick) that boots HV.elf by Multiboot2.
# MKISO_LOADER=multiboot boots it by Multiboot (v1) instead (guests/memtest-mb1.elf).
set -eu

[ $# -ge 3 ] || { echo "usage: $0 OUT.iso HV.elf 'cmdline' [module 'module line']..." >&2; exit 2; }
out=$1 elf=$2 cmdline=$3
shift 3
loader=${MKISO_LOADER:-multiboot2}
case $loader in
multiboot2) module=module2 ;;
multiboot) module=module ;;
*) echo "$0: MKISO_LOADER must be multiboot2 or multiboot" >&2; exit 2 ;;
esac

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/boot/grub" "$dir/guests"
kernel=/boot/$(basename "$elf")
cp "$elf" "$dir$kernel"

modules=""
while [ $# -ge 2 ]; do
	cp "$1" "$dir/guests/$(basename "$1")"
	modules="$modules	$module /guests/$(basename "$1") $2
"
	shift 2
done

cat > "$dir/boot/grub/grub.cfg" <<CFG
set timeout=0
set default=0
menuentry "hv microhypervisor" {
	$loader $kernel $cmdline
$modules	boot
}
CFG

mkdir -p "$(dirname "$out")"
log=$(mktemp)
if ! grub-mkrescue -o "$out" "$dir" > "$log" 2>&1; then
	cat "$log" >&2
	rm -f "$log"
	exit 1
fi
rm -f "$log"
