#!/bin/sh
# Runs every unit test program given, prints each one's cmocka report, and a closing
# "unit: N passed, N failed" line. Exits non-zero when any program failed.
build=$1; shift
passed=0; failed=0
for t in "$@"; do
    out=$("$t" 2>&1); rc=$?
    printf '%s\n' "$out"
    # A program may run its group more than once (the otlp receiver: inline, then on the pool).
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{ s += $1 } END { print s }')
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    passed=$((passed + ${p:-0}))
    if [ "$rc" -ne 0 ]; then failed=$((failed + ${f:-1})); fi
done
mkdir -p build
echo "unit $build: $passed passed, $failed failed" | tee -a build/results-unit.txt
[ "$failed" -eq 0 ]
