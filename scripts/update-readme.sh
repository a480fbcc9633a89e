#!/bin/sh
# Rewrites the components reference in README.md (between the components:begin and
# components:end markers) with the output of `ocagent components`. Run via `make readme` after
# changing a component's fields; an integration test fails while the README is stale.
set -e
bin=${1:-build/ocagent}
out=$(mktemp)
"$bin" components > "$out"
awk -v ref="$out" '
    /<!-- components:begin/ { print; print "```"; while ((getline line < ref) > 0) print line; print "```"; skip = 1; next }
    /<!-- components:end -->/ { skip = 0 }
    !skip { print }
' README.md > README.md.new
mv README.md.new README.md
rm -f "$out"
