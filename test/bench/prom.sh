#!/bin/sh
# The prometheus scenario of `make bench` (called by run.sh): build/ocagent with the otlp receiver
# feeding the prometheus exporter. Loads 100,000 series over OTLP/HTTP (build/bench/prom_gen), then
# paces OTLP/gRPC updates (h2load --rps, one 100-point request at a time per connection) twice:
# once with nobody scraping, once while a client scrapes /metrics (gzip, as Prometheus asks) every
# second. Prints the scrape times (the first one, which sorts the new set, then p50/max), the
# update latency p50/p99/max in both phases (a scrape that stalled the loop shows in p99/max) and
# the agent's peak RSS, and from the exporter's debug line per scrape the CPU time each cost the
# loop thread (in all, and its longest turn) and the thread pool. BENCH_SMOKE=1: 2,000 series, one scrape, checks every series is in it and
# that the updates were all accepted; exits non-zero when not.
set -u
cd "$(dirname "$0")/../.."
AGENT=build/ocagent
SMOKE=${BENCH_SMOKE:-0}
if [ "$SMOKE" = 1 ]; then SERIES=2000; PER=1000; else SERIES=${PROM_SERIES:-100000}; PER=10000; fi
PHASE_SECONDS=${PROM_SECONDS:-10}
RPS=${PROM_RPS:-100}            # per connection; 2 connections
UPDATE=100
work=$(mktemp -d /tmp/ocagent-prom-bench.XXXXXX)
pid=
scraper=
cleanup() {
    [ -n "$scraper" ] && kill "$scraper" 2>/dev/null
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

command -v h2load >/dev/null || { echo "bench prometheus: h2load missing (apt-get install nghttp2-client)"; exit 1; }
build/bench/prom_gen "$work" "$SERIES" "$PER" "$UPDATE" >"$work/gen.txt" || exit 1

base=$((20000 + ($$ + 7) % 20000))
GRPC_PORT=$base; HTTP_PORT=$((base + 1)); PROM_PORT=$((base + 2)); METRICS_PORT=$((base + 3))
cat >"$work/agent.yaml" <<YAML
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$GRPC_PORT
      http:
        endpoint: 127.0.0.1:$HTTP_PORT
exporters:
  prometheus:
    endpoint: 127.0.0.1:$PROM_PORT
    max_series: 200000
service:
  telemetry:
    logs:
      level: debug
    metrics:
      address: 127.0.0.1:$METRICS_PORT
  pipelines:
    metrics:
      receivers: [otlp]
      exporters: [prometheus]
YAML

fail() { echo "bench prometheus: $*"; cat "$work/agent.log" 2>/dev/null; exit 1; }
"$AGENT" --config "$work/agent.yaml" 2>>"$work/agent.log" &    # appending, so it can be emptied
pid=$!
deadline=$(($(date +%s) + 10))
until curl -s --max-time 1 -o /dev/null "http://127.0.0.1:$PROM_PORT/metrics"; do
    kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -le "$deadline" ] || fail "the agent did not start"
    sleep 0.05
done
idle=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status")

for f in "$work"/load-*.pb; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/x-protobuf' --data-binary "@$f" \
           "http://127.0.0.1:$HTTP_PORT/v1/metrics")
    [ "$code" = 200 ] || fail "loading $f: HTTP $code"
done

# scrape FILE: one scrape as Prometheus does it (gzip), the body into FILE; prints the seconds taken.
scrape() {
    curl -s --compressed -o "$1" -w '%{time_total}\n' "http://127.0.0.1:$PROM_PORT/metrics"
}
first=$(scrape "$work/first.txt")
got=$(grep -c '^bench_metric_' "$work/first.txt")
[ "$got" -eq "$SERIES" ] || fail "the scrape holds $got of $SERIES series"

# latency FILE: p50 p99 max (ms) of the successful requests in an h2load log.
latency() {
    awk '$2 >= 200 && $2 < 300 { print $3 }' "$1" | sort -n |
        awk '{ v[NR] = $1 } END { if (NR == 0) { print "- - -"; exit }
             i50 = int(NR * 0.50); if (i50 < 1) i50 = 1; i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
             printf "%.2f %.2f %.2f\n", v[i50] / 1000, v[i99] / 1000, v[NR] / 1000 }'
}
# updates LOG ARGS...: paced OTLP/gRPC updates from 2 connections, one request in flight each.
updates() {
    log=$1; shift
    h2load -t 1 -c 2 -m 1 "$@" --log-file="$log" -H 'content-type: application/grpc' -H 'te: trailers' \
        -d "$work/update.grpc" "http://127.0.0.1:$GRPC_PORT/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
}
h2count() { sed -n "s/^requests: .* \([0-9][0-9]*\) $1,.*/\1/p" "$2"; }

if [ "$SMOKE" = 1 ]; then
    updates "$work/lat.log" -n 100 >"$work/h2.txt" 2>&1
    ok=$(h2count succeeded "$work/h2.txt")
    scrape "$work/after.txt" >/dev/null
    after=$(grep -c '^bench_metric_' "$work/after.txt")
    kill "$pid" && wait "$pid"; rc=$?; pid=
    if [ "${ok:-0}" -eq 100 ] && [ "$after" -eq "$SERIES" ] && [ "$rc" -eq 0 ]; then
        echo "bench-smoke prometheus: ok ($SERIES series scraped, 100 updates succeeded)"
        exit 0
    fi
    echo "bench-smoke prometheus: FAILED (updates succeeded ${ok:-?} of 100, $after of $SERIES series, exit $rc)"
    cat "$work/h2.txt" "$work/agent.log"
    exit 1
fi

updates "$work/quiet.log" -D "$PHASE_SECONDS" --rps="$RPS" >"$work/quiet.txt" 2>&1
: >"$work/agent.log"    # the scrapes' debug lines from here on
( while :; do scrape /dev/null >>"$work/scrapes.txt"; sleep 1; done ) &
scraper=$!
updates "$work/busy.log" -D "$PHASE_SECONDS" --rps="$RPS" >"$work/busy.txt" 2>&1
kill "$scraper"; wait "$scraper" 2>/dev/null; scraper=
peak=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$pid/status")
bytes=$(wc -c <"$work/first.txt")
kill "$pid" && wait "$pid" || fail "the agent exited $?"
pid=

scrapes=$(sort -n "$work/scrapes.txt" | awk '{ v[NR] = $1 } END { i = int((NR + 1) / 2); if (i < 1) i = 1
          printf "%d %.1f %.1f\n", NR, v[i] * 1000, v[NR] * 1000 }')
set -- $scrapes
n_scrapes=$1; s50=$2; smax=$3
set -- $(latency "$work/quiet.log"); q50=$1; q99=$2; qmax=$3
set -- $(latency "$work/busy.log"); b50=$1; b99=$2; bmax=$3
qfail=$(h2count failed "$work/quiet.txt"); bfail=$(h2count failed "$work/busy.txt")
# "scrape: N bytes gzipped; loop thread CPU: copy X ms in T turns (longest Y ms), answer A ms; thread pool CPU Z ms"
field() { sed -n "s/.*scrape: .*$1.*/\\1/p" "$work/agent.log" | sort -n; }
p50max() { awk '{ v[NR] = $1 } END { i = int((NR + 1) / 2); if (i < 1) { print "- -"; exit } print v[i], v[NR] }'; }
copy=$(field 'copy \([0-9.]*\) ms' | p50max)
turns=$(field 'in \([0-9]*\) turns' | tail -1)
longest=$(field 'longest \([0-9.]*\) ms' | tail -1)
answer=$(field 'answer \([0-9.]*\) ms' | p50max)
pool=$(field 'thread pool CPU \([0-9.]*\) ms' | p50max)
printf '\n%s\n' "prometheus exporter, $(cat "$work/gen.txt")"
printf '%s\n' "scrape ($((bytes / 1024)) KiB of text, gzip): first after loading $(awk -v t="$first" 'BEGIN { printf "%.1f", t * 1000 }') ms; while updating: p50 $s50 ms, max $smax ms over $n_scrapes scrapes"
printf '| %-34s | %7s | %7s | %7s | %6s |\n' "OTLP/gRPC updates, $((2 * RPS))/s x $UPDATE points" "p50 ms" "p99 ms" "max ms" failed
printf '|%s|\n' "------------------------------------|---------|---------|---------|--------"
printf '| %-34s | %7s | %7s | %7s | %6s |\n' "nobody scraping" "$q50" "$q99" "$qmax" "${qfail:-?}"
printf '| %-34s | %7s | %7s | %7s | %6s |\n' "scraped every second" "$b50" "$b99" "$bmax" "${bfail:-?}"
printf '%s\n' "each scrape, CPU time (p50 / max): loop thread: copy $(echo $copy | sed 's# # / #') ms in ${turns:-?} turns (longest ${longest:-?} ms), answer $(echo $answer | sed 's# # / #') ms; thread pool $(echo $pool | sed 's# # / #') ms"
printf '%s\n' "agent RSS: idle $(awk -v k="$idle" 'BEGIN { printf "%.1f", k / 1024 }') MiB, peak $(awk -v k="$peak" 'BEGIN { printf "%.1f", k / 1024 }') MiB with $SERIES series"
