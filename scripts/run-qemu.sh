#!/bin/sh
# run-qemu.sh ISO [extra QEMU options]: boots the ISO in QEMU with the serial console on this terminal.
# Uses KVM only where the host CPU itself has VMX or SVM (../shared/PLATFORM.md), else TCG with -cpu max (AMD SVM + NPT).
set -eu
iso=$1
shift
MEM=${MEM:-512}

if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
	accel="-enable-kvm -cpu host"
else
	accel="-accel tcg -cpu max"
fi
# The hypervisor's harness=qemu ends the run through isa-debug-exit: status 1 means PASS.
set +e
# shellcheck disable=SC2086
qemu-system-x86_64 $accel -m "$MEM" -smp 1 -cdrom "$iso" -display none \
	-serial mon:stdio -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4 "$@"
status=$?
set -e
[ $status -eq 1 ] && exit 0
exit $status
