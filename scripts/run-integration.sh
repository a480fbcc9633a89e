#!/bin/sh
# Runs the integration suite (node's test runner; every test starts the built agent and talks to
# it over loopback) against the binary given, and records "integration: N passed, N failed".
bin=$1; label=$2
log=$(mktemp)
OCAGENT_BIN=$bin node --test test/integration/*.test.mjs 2>&1 | tee "$log"
p=$(sed -n 's/^# pass \([0-9]*\)/\1/p' "$log" | tail -1)
f=$(sed -n 's/^# fail \([0-9]*\)/\1/p' "$log" | tail -1)
rm -f "$log"
mkdir -p build
echo "integration $label: ${p:-0} passed, ${f:-1} failed" | tee -a build/results-integration.txt
[ "${f:-1}" -eq 0 ] && [ "${p:-0}" -gt 0 ]
