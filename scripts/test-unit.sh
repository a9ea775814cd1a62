#!/bin/sh
# test-unit.sh BINARY...: runs host unit tests (cmocka, under ASan+UBSan) and prints
# "PASS unit/<file>/<test>" or "FAIL ..." per test, then "N passed, N failed".
# Exits non-zero on any failure, including a binary that crashes before reporting.
set -u
pass=0 fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for bin in "$@"; do
	name=$(basename "$bin" | sed 's/^test_//')
	CMOCKA_MESSAGE_OUTPUT=TAP "$bin" > "$out" 2>&1
	status=$?
	# TAP: "ok N - test" / "not ok N - test"; diagnostics start with '#'.
	p=$(grep -c '^ok ' "$out")
	f=$(grep -c '^not ok ' "$out")
	sed -n 's/^ok [0-9]* - \(.*\)$/PASS unit\/'"$name"'\/\1/p' "$out"
	if [ "$f" -gt 0 ] || [ $status -ne 0 ]; then
		sed -n 's/^not ok [0-9]* - \(.*\)$/FAIL unit\/'"$name"'\/\1/p' "$out"
		echo "---- output of $bin (exit status $status) ----"
		grep -v '^ok ' "$out" | head -60
		echo "----"
		if [ "$f" -eq 0 ]; then
			echo "FAIL unit/$name (exit status $status before all tests reported)"
			f=1
		fi
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL unit/$name (no tests ran)"
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
