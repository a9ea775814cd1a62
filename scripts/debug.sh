#!/bin/sh
# debug.sh ISO ELF: QEMU stopped at reset with a gdb stub on :1234, and gdb attached with the symbols.
set -eu
iso=$1 elf=$2
qemu-system-x86_64 -accel tcg -cpu max -m 512 -cdrom "$iso" -display none \
	-serial file:build/debug-serial.log -no-reboot -s -S &
qpid=$!
trap 'kill $qpid 2>/dev/null' EXIT
echo "serial output goes to build/debug-serial.log"
gdb -q "$elf" -ex 'target remote :1234' -ex 'hbreak hv_main' -ex 'continue'
