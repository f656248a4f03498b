#!/bin/sh
# Bounded fuzzing run for `make test`: the seed corpus ($2, default
# fuzz/corpus) plus FUZZ_SHORT seconds (default 45) of new inputs.  Fails on
# any crash or sanitizer report; a target that says it is skipped passes.
set -e
bin=$1
corpus=${2:-fuzz/corpus}
secs=${FUZZ_SHORT:-45}
work=$(mktemp -d /tmp/lvs-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
cp "$corpus"/* "$work"/ 2>/dev/null || true
if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$work/" "$work" >"$work/log" 2>&1; then
	# a target that cannot run here (fuzz_fastpath without root or BPF)
	if skip=$(grep -m1 ': skipped: ' "$work/log"); then
		echo "$skip"
		exit 0
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
	echo "fuzz: ${runs:-?} executions in ${secs}s, 0 crashes"
	echo "fuzz: 1 passed, 0 failed"
else
	tail -n 60 "$work/log"
	ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* 2>/dev/null || true
	mkdir -p build-fuzz/artifacts
	cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* build-fuzz/artifacts/ 2>/dev/null || true
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi
