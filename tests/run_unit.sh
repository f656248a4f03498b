#!/bin/sh
# Run every unit test binary in $1; print one summary line.
dir=$1
pass=0; fail=0; failed=""
for t in "$dir"/test_*; do
	[ -x "$t" ] || continue
	if "$t" >"$t.log" 2>&1; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1)); failed="$failed $(basename "$t")"
		cat "$t.log"
	fi
done
echo "unit ($dir): $pass passed, $fail failed"
[ -n "$failed" ] && echo "failed:$failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
