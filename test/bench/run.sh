#!/bin/sh
# `make bench`: OTLP throughput, CPU, memory and latency of build/ocagent with the otlp receiver
# feeding the nop exporter, under h2load (Debian's nghttp2-client). Per scenario: spans/s accepted
# (the agent's own otelcol_receiver_accepted_spans, so refused requests do not count), agent
# CPU-seconds per million spans (/proc/PID/stat), idle RSS (VmRSS before load), peak RSS (VmHWM),
# p50/p99 Export latency at half the peak rate (h2load --rps, per-request times from --log-file),
# and the ratio to the protobuf-c decode bound (build/bench/decode). First the agent on core 0 and
# h2load on core 1 (taskset), then the agent unpinned. One table at the end.
# BENCH_SMOKE=1 (make test-bench-smoke): a short fixed-count run of each scenario that checks the
# counts add up (h2load's succeeded x 100 = accepted = nop's sent), not the speed.
set -u
cd "$(dirname "$0")/../.."
AGENT=build/ocagent
SMOKE=${BENCH_SMOKE:-0}
PEAK_SECONDS=${BENCH_SECONDS:-8}
LAT_SECONDS=${BENCH_LATENCY_SECONDS:-4}
work=$(mktemp -d /tmp/ocagent-bench.XXXXXX)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

command -v h2load >/dev/null || { echo "bench: h2load missing (apt-get install nghttp2-client)"; exit 1; }
build/bench/gen "$work" >"$work/gen.txt" || exit 1
SPANS_PER_REQ=100
ncpu=$(nproc)

base=$((20000 + $$ % 20000))
GRPC_PORT=$base; HTTP_PORT=$((base + 1)); METRICS_PORT=$((base + 2)); OC_PORT=$((base + 3))
. test/bench/opencensus.sh
cat >"$work/agent.yaml" <<YAML
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$GRPC_PORT
      http:
        endpoint: 127.0.0.1:$HTTP_PORT
  opencensus:
    endpoint: 127.0.0.1:$OC_PORT
exporters:
  nop:
service:
  telemetry:
    logs:
      level: warn
    metrics:
      address: 127.0.0.1:$METRICS_PORT
  pipelines:
    traces:
      receivers: [otlp, opencensus]
      exporters: [nop]
YAML

# metric NAME LABEL: one series of the agent's own metrics, 0 when absent.
metric() {
    curl -s --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" |
        awk -v n="$1{$2}" '$1 == n { print $2; found = 1 } END { if (!found) print 0 }'
}
status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
now() { date +%s.%N; }

# start_agent PIN: PIN is a taskset core list or "" for none; waits until the metrics answer.
start_agent() {
    if [ -n "$1" ]; then
        taskset -c "$1" "$AGENT" --config "$work/agent.yaml" 2>>"$work/agent.log" &
    else
        "$AGENT" --config "$work/agent.yaml" 2>>"$work/agent.log" &
    fi
    pid=$!
    deadline=$(($(date +%s) + 10))
    until curl -s --max-time 1 -o /dev/null "http://127.0.0.1:$METRICS_PORT/metrics"; do
        if ! kill -0 "$pid" 2>/dev/null || [ "$(date +%s)" -gt "$deadline" ]; then
            echo "bench: the agent did not start"; cat "$work/agent.log"; exit 1
        fi
        sleep 0.05
    done
}
stop_agent() {
    kill "$pid" && wait "$pid"
    rc=$?
    pid=
    [ "$rc" -eq 0 ] || { echo "bench: the agent exited $rc"; cat "$work/agent.log"; exit 1; }
}

# load SCENARIO ARGS...: h2load for a scenario with the extra ARGS (duration, rate, log file).
load() {
    sc=$1; shift
    case $sc in
    grpc) set -- "$@" -c "${LOAD_C:-8}" -m "${LOAD_M:-8}" -H 'content-type: application/grpc' -H 'te: trailers' -d "$work/traces.grpc" \
              "http://127.0.0.1:$GRPC_PORT/opentelemetry.proto.collector.trace.v1.TraceService/Export" ;;
    http-proto) set -- "$@" --h1 -c "${LOAD_C:-16}" -m 1 -H 'content-type: application/x-protobuf' -d "$work/traces.pb" \
              "http://127.0.0.1:$HTTP_PORT/v1/traces" ;;
    http-json) set -- "$@" --h1 -c "${LOAD_C:-16}" -m 1 -H 'content-type: application/json' -d "$work/traces.json" \
              "http://127.0.0.1:$HTTP_PORT/v1/traces" ;;
    esac
    # LOAD_CPU=FILE: h2load's own user+system seconds go there (/usr/bin/time), to show how much
    # of the shared cores the load itself takes.
    if [ -n "${LOAD_CPU:-}" ] && [ -x /usr/bin/time ]; then set -- /usr/bin/time -o "$LOAD_CPU" -f "%U %S" h2load -t 1 "$@"
    else set -- h2load -t 1 "$@"; fi
    if [ -n "$LOAD_PIN" ]; then taskset -c "$LOAD_PIN" "$@"; else "$@"; fi
}
# The h2load count of requests with the given word: "requests: N total, ..., N succeeded, ...".
h2count() { sed -n "s/^requests: .* \([0-9][0-9]*\) $1,.*/\1/p" "$2"; }
SCENARIOS="grpc http-proto http-json"
label() {
    case $1 in grpc) echo "OTLP/gRPC -> nop" ;; http-proto) echo "OTLP/HTTP protobuf -> nop" ;;
    http-json) echo "OTLP/HTTP JSON -> nop" ;; esac
}

if [ "$SMOKE" = 1 ]; then
    passed=0; failed=0
    LOAD_PIN=
    for sc in $SCENARIOS; do
        start_agent ""
        load "$sc" -n 1000 >"$work/h2.txt" 2>&1
        ok=$(h2count succeeded "$work/h2.txt")
        acc=$(metric otelcol_receiver_accepted_spans 'receiver="otlp"')
        sent=$(metric otelcol_exporter_sent_spans 'exporter="nop"')
        stop_agent
        if [ "${ok:-0}" -gt 0 ] && [ $((ok * SPANS_PER_REQ)) -eq "$acc" ] && [ "$sent" -eq "$acc" ]; then
            echo "bench-smoke $sc: ok ($ok requests succeeded, $acc spans accepted, $sent sent)"
            passed=$((passed + 1))
        else
            echo "bench-smoke $sc: FAILED (succeeded ${ok:-?} x $SPANS_PER_REQ != accepted $acc, or sent $sent != accepted)"
            cat "$work/h2.txt"
            failed=$((failed + 1))
        fi
    done
    if oc_smoke; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    if sh test/bench/prom.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    if BENCH_SMOKE=1 sh test/bench/forward.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    mkdir -p build
    echo "bench-smoke: $passed passed, $failed failed" | tee -a build/results-bench.txt
    [ "$failed" -eq 0 ]
    exit
fi

[ "$ncpu" -ge 2 ] || echo "bench: only $ncpu core(s); the pinned figures share it with the load"
tck=$(getconf CLK_TCK)
echo "bench: $(cat "$work/gen.txt")"
bound=$(taskset -c 0 build/bench/decode "$work/traces.pb" 3 | tee "$work/decode.txt" | awk '{ print $2 }')
echo "bench: $(cat "$work/decode.txt") (core 0)"
taskset -c 0 build/bench/compress "$work" >"$work/compress.txt" || exit 1

rows=$work/rows
: >"$rows"
for mode in 1 2; do
    if [ "$mode" = 1 ]; then AGENT_PIN=0; LOAD_PIN=1; else AGENT_PIN=; LOAD_PIN=; fi
    for sc in $SCENARIOS; do
        start_agent "$AGENT_PIN"
        idle=$(status_kb VmRSS)
        a0=$(metric otelcol_receiver_accepted_spans 'receiver="otlp"'); c0=$(cpu_ticks); t0=$(now)
        : >"$work/loadcpu"
        LOAD_CPU=$work/loadcpu load "$sc" -D "$PEAK_SECONDS" >"$work/peak.txt" 2>&1
        t1=$(now); c1=$(cpu_ticks); a1=$(metric otelcol_receiver_accepted_spans 'receiver="otlp"')
        lcpu=$(awk -v a="$((a1 - a0))" '{ if (a) printf "%.2f", ($1 + $2) / (a / 1e6); else print "-" }' "$work/loadcpu")
        rate=$(awk -v a="$((a1 - a0))" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.0f", a / (t1 - t0) }')
        cpu=$(awk -v c="$((c1 - c0))" -v a="$((a1 - a0))" -v k="$tck" 'BEGIN { if (a) printf "%.2f", c / k / (a / 1e6); else print "-" }')
        # Half the peak request rate from 2 paced connections with one request in flight each (an
        # exporter's shape; 64 streams released in bursts would measure h2load's queueing instead).
        rps=$(awk -v r="$rate" -v n="$SPANS_PER_REQ" 'BEGIN { v = r / n / 2 / 2; if (v < 1) v = 1; printf "%.0f", v }')
        LOAD_C=2 LOAD_M=1 load "$sc" -D "$LAT_SECONDS" --rps="$rps" --log-file="$work/lat.log" >"$work/lat.txt" 2>&1
        lat=$(awk '$2 >= 200 && $2 < 300 { print $3 }' "$work/lat.log" | sort -n |
              awk '{ v[NR] = $1 } END { if (NR == 0) { print "- -"; exit }
                    i50 = int(NR * 0.50); if (i50 < 1) i50 = 1; i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
                    printf "%.2f %.2f", v[i50] / 1000, v[i99] / 1000 }')
        peak=$(status_kb VmHWM)
        stop_agent
        fails=$(h2count failed "$work/peak.txt")
        printf '%s|%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "$(label "$sc")" "$([ "$mode" = 1 ] && echo 1 || echo "$ncpu (shared)")" \
            "$rate" "$(awk -v r="$rate" -v b="$bound" 'BEGIN { printf "%.2f", r / b }')" "$cpu" \
            "$(awk -v k="$idle" 'BEGIN { printf "%.1f", k / 1024 }')" "$(awk -v k="$peak" 'BEGIN { printf "%.1f", k / 1024 }')" \
            "$lat" "${fails:-?}" "${lcpu:--}" >>"$rows"
        echo "bench: $(label "$sc"), agent cores: $([ "$mode" = 1 ] && echo 1 || echo all): $rate spans/s (agent CPU $cpu s/M spans, h2load ${lcpu:--} s/M spans)"
    done
    oc_row "$mode" "$AGENT_PIN"
done

printf '\n%s\n' "ocagent bench: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1); payload 100 spans x 10 attributes of 20+20 chars"
printf '%s\n' "decode bound (protobuf-c into an arena, one core): $bound spans/s"
printf '| %-28s | %-10s | %10s | %8s | %14s | %8s | %8s | %7s | %7s | %6s |\n' scenario "agent cores" "spans/s" "x bound" "CPU s/M spans" \
    "idle MiB" "peak MiB" "p50 ms" "p99 ms" "failed"
printf '|%s|\n' "------------------------------|------------|------------|----------|----------------|----------|----------|---------|---------|--------"
while IFS='|' read -r name cores rate ratio cpu idle peak lat fails lcpu; do
    set -- $lat
    printf '| %-28s | %-10s | %10s | %8s | %14s | %8s | %8s | %7s | %7s | %6s |\n' "$name" "$cores" "$rate" "$ratio" "$cpu" "$idle" "$peak" "$1" "$2" "$fails"
done <"$rows"
sh test/bench/forward.sh
printf '%s\n' "compressing a forwarded batch (8200 spans, all different; h2load repeats one request, which zstd's window finds), one core:"
sed 's/^/  /' "$work/compress.txt"
# Both cores against one, per scenario, beside the most the two cores could give with the load
# generator on them too: at the one-core run's costs (agent a, h2load l CPU-seconds per million
# spans) two cores carry at most 2 / (a + l) million spans/s.
printf '\n%s\n' "both cores vs one (in the second run the load generator shares the two cores):"
awk -F'|' '$2 == "1" { r1[$1] = $3; a[$1] = $5; l[$1] = $10; order[++n] = $1 }
           $2 != "1" { r2[$1] = $3 }
           END { for (i = 1; i <= n; i++) { s = order[i]; if (!(s in r2) || r1[s] == 0) continue
                     line = sprintf("  %-28s %5.2fx", s, r2[s] / r1[s])
                     if (a[s] + 0 > 0 && l[s] + 0 > 0)
                         line = line sprintf("   ceiling with the load on the same cores %.2fx (agent %s + load %s CPU s/M spans)",
                                             2e6 / (a[s] + l[s]) / r1[s], a[s], l[s])
                     print line } }' "$rows"
sh test/bench/prom.sh
