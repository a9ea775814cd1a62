#!/bin/sh
# run-bochs.sh ISO [CPU_MODEL]: boots the ISO in Bochs (default corei7_skylake_x: Intel VMX, EPT, VPID)
# and shows the serial console as it is written.
set -eu
iso=$1
model=${2:-corei7_skylake_x}
dir=$(dirname "$iso")
log=$dir/bochs-serial.log
: > "$log"
scripts/bochsrc.sh "$iso" "$log" "$dir/bochs.log" "$model" > "$dir/bochsrc"
printf 'c\nq\n' > "$dir/bochs.cmds"
tail -f "$log" &
tailpid=$!
trap 'kill $tailpid 2>/dev/null' EXIT
bochs -q -f "$dir/bochsrc" -rc "$dir/bochs.cmds" < /dev/null > "$dir/bochs.out" 2>&1 || true
sleep 0.3
