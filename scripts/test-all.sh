#!/bin/sh
# test-all.sh: runs every test (unit, QEMU system, Bochs system) and ends with one
# line "N passed, N failed" for all of them; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.."
mkdir -p build/test-logs
total_pass=0 total_fail=0
run_part() {
	part=$1
	shift
	echo "== $part"
	"$@" 2>&1 | tee "build/test-logs/$part.out"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "build/test-logs/$part.out" | tail -1)
	if [ -z "$line" ]; then
		echo "FAIL $part (the runner printed no summary)"
		total_fail=$((total_fail + 1))
		return
	fi
	total_pass=$((total_pass + $(echo "$line" | awk '{print $1}')))
	total_fail=$((total_fail + $(echo "$line" | awk '{print $3}')))
}
run_part unit make --no-print-directory test-unit
run_part qemu python3 tests/system/systest.py --emulator qemu
run_part bochs python3 tests/system/systest.py --emulator bochs
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
