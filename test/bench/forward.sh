#!/bin/sh
# The forwarding scenario of `make bench`: h2load sends OTLP/gRPC to agent A (otlp receiver -> batch
# -> otlp exporter, tls.insecure), which forwards to agent B (otlp receiver -> nop). A runs on core 0,
# B and h2load share core 1 (taskset). The figure is what arrives: B's accepted spans per second over
# the load window plus the time A needs to drain, so spans A took but had not sent yet do not count.
# Also A's CPU-seconds per million spans and peak RSS. The load is 8 connections with one request
# in flight each (h2load does not back off when A refuses, and decoding what is then refused costs A
# the CPU it needs to forward). Three runs: the defaults (gzip, batches of 8192 spans), without
# compression, and without compression in batches of 1024 spans. Prints one table row per run, in
# run.sh's columns, and a line per run on stderr with what A refused.
# BENCH_BUDGET=SIZE: agent A's service.memory_budget (default: the agent's own default).
# BENCH_SMOKE=1: a short fixed-count run that checks the counts add up (h2load's succeeded x 100 =
# A accepted + A refused, as h2load does not read grpc-status; A accepted = A's exporter sent = B
# accepted), not the speed.
set -u
cd "$(dirname "$0")/../.."
AGENT=${AGENT:-build/ocagent}
SMOKE=${BENCH_SMOKE:-0}
SECONDS_PEAK=${BENCH_SECONDS:-8}
SPANS_PER_REQ=100
work=$(mktemp -d /tmp/ocagent-forward.XXXXXX)
pid_a=; pid_b=
cleanup() {
    for p in $pid_a $pid_b; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

command -v h2load >/dev/null || { echo "forward: h2load missing (apt-get install nghttp2-client)"; exit 1; }
build/bench/gen "$work" >"$work/gen.txt" || exit 1

# Below the ephemeral port range (32768-60999), where a connection of the run itself can hold the
# port a listener then cannot take.
base=$((20000 + $$ % 12000))
A_GRPC=$base; A_METRICS=$((base + 1)); B_GRPC=$((base + 2)); B_METRICS=$((base + 3))

# config_a COMPRESSION BATCH_SIZE / config_b: the two agents' configs.
config_a() {
    cat <<YAML
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$A_GRPC
processors:
  batch:
    send_batch_size: $2
exporters:
  otlp:
    endpoint: 127.0.0.1:$B_GRPC
    compression: $1
    tls:
      insecure: true
service:
  ${BENCH_BUDGET:+memory_budget: $BENCH_BUDGET}
  telemetry:
    logs: {level: warn}
    metrics: {address: 127.0.0.1:$A_METRICS}
  pipelines:
    traces: {receivers: [otlp], processors: [batch], exporters: [otlp]}
YAML
}
config_b() {
    cat <<YAML
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$B_GRPC
        max_recv_msg_size_mib: 64
exporters:
  nop:
service:
  telemetry:
    logs: {level: warn}
    metrics: {address: 127.0.0.1:$B_METRICS}
  pipelines:
    traces: {receivers: [otlp], exporters: [nop]}
YAML
}

# metric PORT NAME LABEL: one series of an agent's own metrics, 0 when absent.
metric() {
    curl -s --max-time 5 "http://127.0.0.1:$1/metrics" |
        awk -v n="$2{$3}" '$1 == n { print $2; found = 1 } END { if (!found) print 0 }'
}
# start CONFIG PIN METRICS_PORT: starts an agent (pinned when PIN is set) and sets p to its pid
# once its metrics answer.
start() {
    if [ -n "$2" ]; then taskset -c "$2" "$AGENT" --config "$1" >>"$work/agents.log" 2>&1 &
    else "$AGENT" --config "$1" >>"$work/agents.log" 2>&1 & fi
    p=$!
    deadline=$(($(date +%s) + 10))
    until curl -s --max-time 1 -o /dev/null "http://127.0.0.1:$3/metrics"; do
        if ! kill -0 "$p" 2>/dev/null || [ "$(date +%s)" -gt "$deadline" ]; then
            echo "forward: an agent did not start" >&2; cat "$work/agents.log" >&2; exit 1
        fi
        sleep 0.05
    done
}
stop() {
    rc=0
    for p in $pid_a $pid_b; do kill "$p" && wait "$p" || rc=$?; done
    pid_a=; pid_b=
    [ "$rc" -eq 0 ] || { echo "forward: an agent exited $rc"; cat "$work/agents.log"; exit 1; }
}
load() {
    set -- "$@" -c "${LOAD_C:-8}" -m "${LOAD_M:-1}" -H 'content-type: application/grpc' -H 'te: trailers' \
        -d "$work/traces.grpc" "http://127.0.0.1:$A_GRPC/opentelemetry.proto.collector.trace.v1.TraceService/Export"
    if [ -n "$LOAD_PIN" ]; then taskset -c "$LOAD_PIN" h2load -t 1 "$@"; else h2load -t 1 "$@"; fi
}
h2count() { sed -n "s/^requests: .* \([0-9][0-9]*\) $1,.*/\1/p" "$2"; }
a_accepted() { metric "$A_METRICS" otelcol_receiver_accepted_spans 'receiver="otlp"'; }
a_sent() { metric "$A_METRICS" otelcol_exporter_sent_spans 'exporter="otlp"'; }
b_accepted() { metric "$B_METRICS" otelcol_receiver_accepted_spans 'receiver="otlp"'; }
# wait_drained: until B has what A accepted (and A's queue is empty), at most 30 s.
wait_drained() {
    deadline=$(($(date +%s) + 30))
    while [ "$(b_accepted)" -lt "$(a_accepted)" ] && [ "$(date +%s)" -le "$deadline" ]; do sleep 0.05; done
}

if [ "$SMOKE" = 1 ]; then
    LOAD_PIN=
    config_a gzip 8192 >"$work/a.yaml"; config_b >"$work/b.yaml"
    start "$work/b.yaml" "" "$B_METRICS"; pid_b=$p
    start "$work/a.yaml" "" "$A_METRICS"; pid_a=$p
    load -n 1000 >"$work/h2.txt" 2>&1
    ok=$(h2count succeeded "$work/h2.txt")
    wait_drained
    acc=$(a_accepted); sent=$(a_sent); got=$(b_accepted)
    refused=$(metric "$A_METRICS" otelcol_receiver_refused_spans 'receiver="otlp"')
    stop
    mkdir -p build
    if [ "${ok:-0}" -gt 0 ] && [ "$acc" -gt 0 ] && [ $((ok * SPANS_PER_REQ)) -eq $((acc + refused)) ] && [ "$sent" -eq "$acc" ] &&
       [ "$got" -eq "$acc" ]; then
        echo "bench-smoke forward: ok ($ok requests, A accepted $acc spans and refused $refused, sent $sent, B accepted $got)" |
            tee -a build/results-bench.txt
        exit 0
    fi
    echo "bench-smoke forward: FAILED (succeeded ${ok:-?} x $SPANS_PER_REQ, A accepted $acc + refused $refused, A sent $sent, B accepted $got)" |
        tee -a build/results-bench.txt
    cat "$work/h2.txt" "$work/agents.log"
    exit 1
fi

tck=$(getconf CLK_TCK)
for run in "gzip 8192" "zstd 8192" "none 8192" "none 1024"; do
    set -- $run
    compression=$1; batch=$2
    LOAD_PIN=1
    config_a "$compression" "$batch" >"$work/a.yaml"; config_b >"$work/b.yaml"
    start "$work/b.yaml" 1 "$B_METRICS"; pid_b=$p
    start "$work/a.yaml" 0 "$A_METRICS"; pid_a=$p
    b0=$(b_accepted); c0=$(awk '{ print $14 + $15 }' "/proc/$pid_a/stat"); t0=$(date +%s.%N)
    load -D "$SECONDS_PEAK" >"$work/peak.txt" 2>&1
    wait_drained
    t1=$(date +%s.%N); c1=$(awk '{ print $14 + $15 }' "/proc/$pid_a/stat"); b1=$(b_accepted)
    peak=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$pid_a/status")
    refused=$(metric "$A_METRICS" otelcol_receiver_refused_spans 'receiver="otlp"')
    stop
    rate=$(awk -v a="$((b1 - b0))" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.0f", a / (t1 - t0) }')
    cpu=$(awk -v c="$((c1 - c0))" -v a="$((b1 - b0))" -v k="$tck" 'BEGIN { if (a) printf "%.2f", c / k / (a / 1e6); else print "-" }')
    printf '| %-28s | %-10s | %10s | %8s | %14s | %8s | %8s | %7s | %7s | %6s |\n' \
        "OTLP/gRPC -> batch $batch -> otlp $compression -> ocagent" "1 + 1" "$rate" "-" "$cpu (A)" "-" \
        "$(awk -v k="$peak" 'BEGIN { printf "%.1f", k / 1024 }')" "-" "-" "$(h2count failed "$work/peak.txt")"
    echo "forward ($compression, batches of $batch): $rate spans/s delivered to B; A refused $refused spans (backpressure)" >&2
done
