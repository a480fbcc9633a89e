#!/bin/sh
# Adds up the per-suite result lines that make test wrote into build/results-*.txt and prints the
# closing "N passed, N failed" line.
cd "$(dirname "$0")/.."
passed=0; failed=0
for f in build/results-*.txt; do
    [ -f "$f" ] || continue
    while read -r line; do
        p=$(printf '%s\n' "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
        q=$(printf '%s\n' "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
        passed=$((passed + ${p:-0})); failed=$((failed + ${q:-0}))
    done < "$f"
done
rm -f build/results-*.txt
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
