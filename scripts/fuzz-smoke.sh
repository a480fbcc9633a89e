#!/bin/sh
# Runs each libFuzzer target briefly over its seed corpus (test/fuzz/corpus/<name>/) so that make
# test catches a harness that no longer builds or crashes at once. Long runs: build/fuzz/NAME
# -max_total_time=600 test/fuzz/corpus/NAME.
set -e
seconds=${FUZZ_SECONDS:-10}
passed=0; failed=0
for bin in "$@"; do
    name=$(basename "$bin" _fuzz)
    corpus=test/fuzz/corpus/$name
    work=$(mktemp -d)
    [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/ 2>/dev/null || true
    if "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=0 "$work" >"$work.log" 2>&1; then
        echo "fuzz $name: ok ($(grep -c '' "$work.log") log lines, ${seconds}s)"
        passed=$((passed + 1))
    else
        echo "fuzz $name: FAILED"; tail -40 "$work.log"
        failed=$((failed + 1))
    fi
    rm -rf "$work" "$work.log"
done
mkdir -p build
echo "fuzz: $passed passed, $failed failed" | tee -a build/results-fuzz.txt
[ "$failed" -eq 0 ]
