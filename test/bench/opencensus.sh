# The OpenCensus stream scenario of `make bench`, sourced by test/bench/run.sh (it uses run.sh's
# helpers and variables: metric, status_kb, cpu_ticks, now, start_agent, stop_agent, work, rows,
# LOAD_PIN, tck, bound; build/bench/gen wrote the messages into $work). build/bench/oc_load keeps
# OC_CONNS x OC_STREAMS TraceService/Export streams open, each sending 100-span messages back to
# back; spans/s is the agent's otelcol_receiver_accepted_spans{receiver="opencensus"} over wall
# time.
OC_CONNS=${OC_CONNS:-2}
OC_STREAMS=${OC_STREAMS:-4}

# oc_load SECONDS [MESSAGES]
oc_load() {
    if [ -n "$LOAD_PIN" ]; then set -- taskset -c "$LOAD_PIN" build/bench/oc_load "$work" 127.0.0.1 "$OC_PORT" "$OC_CONNS" "$OC_STREAMS" "$@"
    else set -- build/bench/oc_load "$work" 127.0.0.1 "$OC_PORT" "$OC_CONNS" "$OC_STREAMS" "$@"; fi
    "$@"
}

# oc_smoke: at least 1000 messages; the spans the generator sent = accepted = the nop's sent.
# Prints the verdict line and returns non-zero on a mismatch.
oc_smoke() {
    start_agent ""
    oc_load 10 1000 >"$work/oc.txt" 2>&1
    sent_spans=$(sed -n 's/^oc_load: [0-9]* messages (\([0-9]*\) spans).*/\1/p' "$work/oc.txt")
    acc=$(metric otelcol_receiver_accepted_spans 'receiver="opencensus"')
    out=$(metric otelcol_exporter_sent_spans 'exporter="nop"')
    stop_agent
    if grep -q 'streams: [0-9]* ok, 0 failed' "$work/oc.txt" && [ "${sent_spans:-0}" -gt 0 ] &&
        [ "$sent_spans" -eq "$acc" ] && [ "$out" -eq "$acc" ]; then
        echo "bench-smoke oc: ok ($sent_spans spans sent over streams, $acc accepted, $out sent)"
        return 0
    fi
    echo "bench-smoke oc: FAILED (sent ${sent_spans:-?} spans, accepted $acc, nop sent $out)"
    cat "$work/oc.txt"
    return 1
}

# oc_row MODE AGENT_PIN: one table row (no latency: a stream has no per-request answer).
oc_row() {
    start_agent "$2"
    idle=$(status_kb VmRSS)
    a0=$(metric otelcol_receiver_accepted_spans 'receiver="opencensus"'); c0=$(cpu_ticks); t0=$(now)
    oc_load "$PEAK_SECONDS" >"$work/oc.txt" 2>&1
    t1=$(now); c1=$(cpu_ticks); a1=$(metric otelcol_receiver_accepted_spans 'receiver="opencensus"')
    rate=$(awk -v a="$((a1 - a0))" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.0f", a / (t1 - t0) }')
    cpu=$(awk -v c="$((c1 - c0))" -v a="$((a1 - a0))" -v k="$tck" 'BEGIN { if (a) printf "%.2f", c / k / (a / 1e6); else print "-" }')
    peak=$(status_kb VmHWM)
    stop_agent
    fails=$(sed -n 's/.*streams: [0-9]* ok, \([0-9]*\) failed/\1/p' "$work/oc.txt")
    printf '%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "OpenCensus stream -> nop" "$([ "$1" = 1 ] && echo 1 || echo "$ncpu (shared)")" \
        "$rate" "$(awk -v r="$rate" -v b="$bound" 'BEGIN { printf "%.2f", r / b }')" "$cpu" \
        "$(awk -v k="$idle" 'BEGIN { printf "%.1f", k / 1024 }')" "$(awk -v k="$peak" 'BEGIN { printf "%.1f", k / 1024 }')" \
        "- -" "${fails:-?}" >>"$rows"
    echo "bench: OpenCensus stream -> nop, agent cores: $([ "$1" = 1 ] && echo 1 || echo all): $rate spans/s (agent CPU $cpu s/M spans)"
}
