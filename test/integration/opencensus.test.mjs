// The opencensus receiver end to end: a client built on @grpc/grpc-js and @grpc/proto-loader with
// the project's own OpenCensus schemas opens Export streams to the built agent, and what arrives in
// the file exporter must be the OTLP translation, item by item, with the Node's resource attributes.
// The grpc-gateway JSON form is posted to /v1/trace with a plain HTTP client. Malformed stream
// messages end only their own stream; under a tiny memory budget the receiver pauses the stream
// (HTTP/2 flow control holds the sender back) and every span still arrives exactly once; what
// cannot be mapped is counted on otelcol_receiver_dropped_*.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import grpc from '@grpc/grpc-js';
import { Agent, readJsonLines, tempDir, waitFor } from './lib/agent.mjs';
import { freePorts, waitListening, httpRequest, parseProm, promSum } from './lib/net.mjs';
import { MetricsService, TraceService, exportStream } from './lib/opencensus.mjs';


let agent, dir, port, metricsPort, out;

before(async () => {
  dir = tempDir('ocagent-oc-');
  [port, metricsPort] = await freePorts(2);
  out = path.join(dir, 'out.jsonl');
  agent = new Agent(`
receivers:
  opencensus:
    endpoint: 127.0.0.1:${port}
    cors_allowed_origins: ["https://app.example.com"]
exporters:
  file:
    path: ${out}
    format: json
    flush_interval: 50ms
service:
  telemetry:
    metrics:
      address: 127.0.0.1:${metricsPort}
  pipelines:
    traces:
      receivers: [opencensus]
      exporters: [file]
    metrics:
      receivers: [opencensus]
      exporters: [file]
`, { dir });
  await waitListening([port], agent);
});

after(async () => {
  const r = await agent.stop();
  assert.equal(r.code, 0, agent.stderr);
});

const node = (name) => ({
  identifier: { host_name: 'host-1', pid: 4242, start_timestamp: { seconds: 1700000000, nanos: 0 } },
  library_info: { language: 'NODE_JS', exporter_version: '0.1.0', core_library_version: '0.0.9' },
  service_info: { name },
  attributes: { region: 'eu' },
});

function id(n, size, salt) {
  const b = Buffer.alloc(size);
  b.writeUInt32BE(n >>> 0, size - 4);
  b[0] = salt;
  return b;
}

function spans(msg, n, salt) {
  const list = [];
  for (let i = 0; i < n; i++) {
    const k = msg * n + i;
    list.push({
      trace_id: id(k, 16, salt), span_id: id(k, 8, salt), name: { value: `op-${k}` }, kind: 'SERVER',
      start_time: { seconds: 1700000001, nanos: k }, end_time: { seconds: 1700000002, nanos: k },
      attributes: { attribute_map: { k: { int_value: String(k) } } },
    });
  }
  return list;
}

function allSpans() {
  const res = [];
  for (const req of readJsonLines(out))
    for (const rs of req.resourceSpans ?? [])
      for (const ss of rs.scopeSpans ?? [])
        for (const s of ss.spans ?? []) res.push({ span: s, resource: rs.resource });
  return res;
}

function attrs(resource) {
  const o = {};
  for (const kv of resource?.attributes ?? []) o[kv.key] = Object.values(kv.value)[0];
  return o;
}

test('100 messages of 100 spans on one stream, Node on the first only: all 10,000 arrive as OTLP', async () => {
  const client = new TraceService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const messages = [];
  for (let m = 0; m < 100; m++) messages.push(m === 0 ? { node: node('big'), spans: spans(m, 100, 1) } : { spans: spans(m, 100, 1) });
  const status = await exportStream(client, messages);
  assert.equal(status.code, grpc.status.OK, status.details);
  await waitFor('10,000 spans', () => allSpans().filter((x) => x.span.traceId.startsWith('01')).length >= 10000, 30000);
  const got = allSpans().filter((x) => x.span.traceId.startsWith('01'));
  assert.equal(got.length, 10000);
  assert.equal(new Set(got.map((x) => x.span.name)).size, 10000);
  for (const { span, resource } of got) {
    const a = attrs(resource);
    assert.equal(a['service.name'], 'big');
    assert.equal(a['host.name'], 'host-1');
    assert.equal(a['process.pid'], '4242');
    assert.equal(a['telemetry.sdk.language'], 'nodejs');
    assert.equal(a['telemetry.sdk.version'], '0.0.9');
    assert.equal(a['opencensus.exporterversion'], '0.1.0');
    assert.equal(a['opencensus.starttime'], '2023-11-14T22:13:20Z');
    assert.equal(a.region, 'eu');
    assert.equal(span.kind, 2);
    assert.equal(span.traceId.length, 32);
    assert.equal(span.spanId.length, 16);
  }
  client.close();
});

test('concurrent streams on one connection, and a stream without a Node is refused while the others go on', async () => {
  const client = new TraceService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const good = [];
  for (let s = 0; s < 4; s++) {
    const msgs = [];
    for (let m = 0; m < 10; m++) msgs.push(m === 0 ? { node: node(`svc-${s}`), spans: spans(m, 10, 0x10 + s) } : { spans: spans(m, 10, 0x10 + s) });
    good.push(exportStream(client, msgs));
  }
  const bad = exportStream(client, [{ spans: spans(0, 5, 0x20) }]);
  const [badStatus, ...goodStatus] = await Promise.all([bad, ...good]);
  assert.equal(badStatus.code, grpc.status.INVALID_ARGUMENT);
  assert.match(badStatus.details, /first message .* must carry a Node/);
  for (const st of goodStatus) assert.equal(st.code, grpc.status.OK, st.details);
  await waitFor('the 400 spans of the good streams', () => {
    const got = allSpans();
    return [0, 1, 2, 3].every((s) => got.filter((x) => x.span.traceId.startsWith((0x10 + s).toString(16))).length === 100);
  }, 20000);
  const got = allSpans();
  for (let s = 0; s < 4; s++)
    for (const x of got.filter((y) => y.span.traceId.startsWith((0x10 + s).toString(16))))
      assert.equal(attrs(x.resource)['service.name'], `svc-${s}`);
  assert.equal(got.filter((x) => x.span.traceId.startsWith('20')).length, 0);
  client.close();
});

test('metrics of every type arrive as OTLP gauges, sums, histograms and summaries', async () => {
  const client = new MetricsService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const ts = { seconds: 1700000100, nanos: 0 };
  const start = { seconds: 1700000000, nanos: 0 };
  const series = (point) => [{ start_timestamp: start, label_values: [{ value: 'v', has_value: true }], points: [{ timestamp: ts, ...point }] }];
  const desc = (name, type) => ({ name, description: 'd', unit: '1', type, label_keys: [{ key: 'k' }] });
  const metrics = [
    { metric_descriptor: desc('oc.gi', 'GAUGE_INT64'), timeseries: series({ int64_value: '7' }) },
    { metric_descriptor: desc('oc.gd', 'GAUGE_DOUBLE'), timeseries: series({ double_value: 1.5 }) },
    { metric_descriptor: desc('oc.ci', 'CUMULATIVE_INT64'), timeseries: series({ int64_value: '9' }) },
    { metric_descriptor: desc('oc.cd', 'CUMULATIVE_DOUBLE'), timeseries: series({ double_value: 2.5 }) },
    { metric_descriptor: desc('oc.h', 'CUMULATIVE_DISTRIBUTION'), timeseries: series({ distribution_value: {
      count: '3', sum: 6, bucket_options: { explicit: { bounds: [1, 5] } },
      buckets: [{ count: '1' }, { count: '1', exemplar: { value: 2, timestamp: ts, attachments: { a: 'b' } } }, { count: '1' }] } }) },
    { metric_descriptor: desc('oc.s', 'SUMMARY'), timeseries: series({ summary_value: {
      count: { value: '10' }, sum: { value: 55 }, snapshot: { percentile_values: [{ percentile: 50, value: 5 }] } } }) },
  ];
  const status = await exportStream(client, [{ node: node('metrics'), metrics: metrics.slice(0, 3) }, { metrics: metrics.slice(3) }]);
  assert.equal(status.code, grpc.status.OK, status.details);
  const byName = () => {
    const m = {};
    for (const req of readJsonLines(out))
      for (const rm of req.resourceMetrics ?? [])
        for (const sm of rm.scopeMetrics ?? [])
          for (const x of sm.metrics ?? []) m[x.name] = { metric: x, resource: rm.resource };
    return m;
  };
  await waitFor('six metrics', () => Object.keys(byName()).filter((n) => n.startsWith('oc.')).length === 6, 20000);
  const m = byName();
  assert.equal(m['oc.gi'].metric.gauge.dataPoints[0].asInt, '7');
  assert.deepEqual(m['oc.gi'].metric.gauge.dataPoints[0].attributes, [{ key: 'k', value: { stringValue: 'v' } }]);
  assert.equal(m['oc.gi'].metric.gauge.dataPoints[0].startTimeUnixNano, '1700000000000000000');
  assert.equal(m['oc.gd'].metric.gauge.dataPoints[0].asDouble, 1.5);
  assert.equal(m['oc.ci'].metric.sum.isMonotonic, true);
  assert.equal(m['oc.ci'].metric.sum.aggregationTemporality, 2);
  assert.equal(m['oc.cd'].metric.sum.dataPoints[0].asDouble, 2.5);
  const h = m['oc.h'].metric.histogram;
  assert.equal(h.aggregationTemporality, 2);
  assert.deepEqual(h.dataPoints[0].explicitBounds, [1, 5]);
  assert.deepEqual(h.dataPoints[0].bucketCounts, ['1', '1', '1']);
  assert.equal(h.dataPoints[0].exemplars[0].asDouble, 2);
  const s = m['oc.s'].metric.summary.dataPoints[0];
  assert.equal(s.count, '10');
  assert.equal(s.sum, 55);
  assert.deepEqual(s.quantileValues, [{ quantile: 0.5, value: 5 }]);
  // The second message inherited the first one's Node.
  assert.equal(attrs(m['oc.s'].resource)['service.name'], 'metrics');
  client.close();
});

test('the grpc-gateway JSON form posted to /v1/trace arrives, with CORS for an allowed origin', async () => {
  const body = JSON.stringify({
    node: { serviceInfo: { name: 'web' }, libraryInfo: { language: 'WEB_JS' } },
    spans: [{
      traceId: Buffer.from('3333333333333333aaaaaaaaaaaaaaaa', 'hex').toString('base64'),
      spanId: Buffer.from('3333333333333333', 'hex').toString('base64'),
      name: { value: 'from-json' }, kind: 'CLIENT',
      startTime: '2024-01-02T03:04:05.123456789Z', endTime: '2024-01-02T03:04:06Z',
      attributes: { attributeMap: { 'http.url': { stringValue: { value: 'https://x' } } } },
      sameProcessAsParentSpan: true,
    }],
  });
  const r = await httpRequest({ port, path: '/v1/trace', headers: { 'content-type': 'application/json', origin: 'https://app.example.com' }, body });
  assert.equal(r.status, 200, r.body?.toString());
  assert.equal(r.headers['access-control-allow-origin'], 'https://app.example.com');
  await waitFor('the JSON span', () => allSpans().some((x) => x.span.name === 'from-json'), 20000);
  const { span, resource } = allSpans().find((x) => x.span.name === 'from-json');
  assert.equal(span.traceId, '3333333333333333aaaaaaaaaaaaaaaa');
  assert.equal(span.spanId, '3333333333333333');
  assert.equal(span.kind, 3);
  assert.equal(span.startTimeUnixNano, '1704164645123456789');
  assert.equal(attrs(resource)['service.name'], 'web');
  assert.equal(attrs(resource)['telemetry.sdk.language'], 'webjs');
  const bad = await httpRequest({ port, path: '/v1/trace', headers: { 'content-type': 'application/json' }, body: '{"spans":[' });
  assert.equal(bad.status, 400);
});

// The agent's own metrics from the endpoint at mport, or null while it does not answer.
async function selfMetrics(mport) {
  const r = await httpRequest({ port: mport, method: 'GET', path: '/metrics' });
  return r.status === 200 ? parseProm(r.body.toString('utf8')) : null;
}

// A client of TraceService/Export twice over, on one channel (so one HTTP/2 connection): Export
// serializes ExportTraceServiceRequest as usual, ExportRaw sends the Buffers it is given as they are.
const RawTraceClient = grpc.makeGenericClientConstructor({
  Export: TraceService.service.Export,
  ExportRaw: { ...TraceService.service.Export, originalName: 'ExportRaw', requestSerialize: (b) => b },
}, 'RawTraceService');
const encodeTrace = TraceService.service.Export.requestSerialize;

const spansWith = (prefix) => allSpans().filter((x) => x.span.traceId.startsWith(prefix));

test('a malformed stream message ends only its stream; another stream on the connection and a new one go on', async () => {
  const client = new RawTraceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  // Stream A: open, one message, held open (not half-closed) while B fails.
  const a = client.Export();
  const aStatus = new Promise((resolve) => { a.on('status', resolve); a.on('error', () => {}); a.on('data', () => {}); });
  a.write({ node: node('mal-a'), spans: spans(0, 10, 0x40) });
  await waitFor('the first spans of stream A', () => spansWith('40').length === 10, 20000);
  // Stream B: a valid first message, then bytes that are not an ExportTraceServiceRequest (a
  // length-delimited field 1 whose length runs past the end of the message).
  const b = client.ExportRaw();
  const bStatus = new Promise((resolve) => { b.on('status', resolve); b.on('error', () => {}); b.on('data', () => {}); });
  b.write(encodeTrace({ node: node('mal-b'), spans: spans(0, 5, 0x41) }));
  b.write(Buffer.from([0x0a, 0x7f, 0x01, 0x02]));
  const st = await bStatus;
  assert.equal(st.code, grpc.status.INVALID_ARGUMENT, st.details);
  assert.match(st.details, /malformed OpenCensus trace request/);
  // Stream A goes on after B's end, inheriting its Node; then a new stream on the same client.
  for (let m = 1; m < 5; m++) a.write({ spans: spans(m, 10, 0x40) });
  a.end();
  assert.equal((await aStatus).code, grpc.status.OK);
  const c = await exportStream(client, [{ node: node('mal-c'), spans: spans(0, 7, 0x42) }]);
  assert.equal(c.code, grpc.status.OK, c.details);
  await waitFor('A\'s 50 spans and C\'s 7', () => spansWith('40').length === 50 && spansWith('42').length === 7, 20000);
  assert.equal(spansWith('41').length, 5, 'B\'s valid first message was delivered, nothing after it');
  assert.equal(new Set(spansWith('40').map((x) => x.span.name)).size, 50);
  for (const x of spansWith('40')) assert.equal(attrs(x.resource)['service.name'], 'mal-a');
  for (const x of spansWith('42')) assert.equal(attrs(x.resource)['service.name'], 'mal-c');
  agent.assertAlive();
  client.close();
});

test('a GAUGE_DISTRIBUTION metric cannot be mapped: its points are counted as dropped, not silently lost', async () => {
  const client = new MetricsService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const ts = { seconds: 1700000100, nanos: 0 };
  const dist = { count: '1', sum: 1, bucket_options: { explicit: { bounds: [1] } }, buckets: [{ count: '1' }, { count: '0' }] };
  const metrics = [
    { metric_descriptor: { name: 'oc.gdist', type: 'GAUGE_DISTRIBUTION' }, timeseries: [
      { points: [{ timestamp: ts, distribution_value: dist }, { timestamp: ts, distribution_value: dist }] },
      { points: [{ timestamp: ts, distribution_value: dist }] }] },
    { metric_descriptor: { name: 'oc.kept', type: 'GAUGE_INT64' }, timeseries: [{ points: [{ timestamp: ts, int64_value: '1' }] }] },
  ];
  const before = await waitFor('the agent\'s metrics', () => selfMetrics(metricsPort), 20000);
  const dropped0 = promSum(before, 'otelcol_receiver_dropped_metric_points', { receiver: 'opencensus' });
  const status = await exportStream(client, [{ node: node('drops'), metrics }]);
  assert.equal(status.code, grpc.status.OK, status.details);
  const names = () => {
    const n = [];
    for (const req of readJsonLines(out))
      for (const rm of req.resourceMetrics ?? [])
        for (const sm of rm.scopeMetrics ?? []) for (const x of sm.metrics ?? []) n.push(x.name);
    return n;
  };
  await waitFor('the mapped metric', () => names().includes('oc.kept'), 20000);
  assert.ok(!names().includes('oc.gdist'));
  const m = await selfMetrics(metricsPort);
  assert.equal(promSum(m, 'otelcol_receiver_dropped_metric_points', { receiver: 'opencensus' }) - dropped0, 3);
  assert.equal(promSum(m, 'otelcol_receiver_dropped_spans', { receiver: 'opencensus' }), 0);
  assert.match(agent.stderr, /GAUGE_DISTRIBUTION metrics have no OTLP equivalent/);
  client.close();
});

// Writes one message, resolving at once or, when grpc-js says its buffer is full, on 'drain'.
const writeRespecting = (call, msg) => new Promise((resolve) => { if (call.write(msg)) resolve(); else call.once('drain', resolve); });

test('backpressure: under a tiny memory budget the stream is paused, never buffered; every span arrives once', async (t) => {
  const bdir = tempDir('ocagent-ocbp-');
  const [bport, bmetrics] = await freePorts(2);
  const bout = path.join(bdir, 'out.jsonl');
  const MESSAGES = 60, PER = 10;
  // The batch processor holds what it took for 500 ms, so the 64 KiB budget is spent by a few
  // messages and the receiver has to pause the stream until the batch is exported.
  const bagent = new Agent(`
receivers:
  opencensus:
    endpoint: 127.0.0.1:${bport}
processors:
  batch:
    send_batch_size: 1000000
    timeout: 500ms
exporters:
  file:
    path: ${bout}
    format: json
    flush_interval: 0s
service:
  memory_budget: 64KiB
  telemetry:
    metrics:
      address: 127.0.0.1:${bmetrics}
  pipelines:
    traces:
      receivers: [opencensus]
      processors: [batch]
      exporters: [file]
`, { dir: bdir });
  const client = new TraceService(`127.0.0.1:${bport}`, grpc.credentials.createInsecure());
  try {
    await waitListening([bport, bmetrics], bagent);
    const rss0 = bagent.rssKiB();
    let rssMax = rss0;
    const sampler = setInterval(() => { try { rssMax = Math.max(rssMax, bagent.rssKiB()); } catch { /* exited: asserted below */ } }, 20);
    const arrived = () => {
      const names = [];
      for (const req of readJsonLines(bout))
        for (const rs of req.resourceSpans ?? [])
          for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) names.push(s.traceId);
      return names;
    };
    const big = (m, salt) => spans(m, PER, salt).map((s) => ({ ...s, attributes: { attribute_map: { ...s.attributes.attribute_map, pad: { string_value: { value: 'p'.repeat(200) } } } } }));

    // A stream that writes fast and waits for 'drain' whenever grpc-js says so.
    const fast = client.Export();
    const fastStatus = new Promise((resolve) => { fast.on('status', resolve); fast.on('error', () => {}); fast.on('data', () => {}); });
    let drains = 0;
    fast.on('drain', () => drains++);
    // A stream that sends one message, then writes nothing (without half-closing) until the fast
    // stream is done, then goes on.
    const slow = client.Export();
    const slowStatus = new Promise((resolve) => { slow.on('status', resolve); slow.on('error', () => {}); slow.on('data', () => {}); });
    await writeRespecting(slow, { node: node('bp-slow'), spans: big(0, 0x51) });

    for (let m = 0; m < MESSAGES; m++) await writeRespecting(fast, m === 0 ? { node: node('bp-fast'), spans: big(m, 0x50) } : { spans: big(m, 0x50) });
    fast.end();
    assert.equal((await fastStatus).code, grpc.status.OK);
    for (let m = 1; m < 5; m++) await writeRespecting(slow, { spans: big(m, 0x51) });
    slow.end();
    assert.equal((await slowStatus).code, grpc.status.OK);

    const total = (MESSAGES + 5) * PER;
    await waitFor(`all ${total} spans in the file`, () => arrived().length >= total, 60000);
    clearInterval(sampler);
    bagent.assertAlive();
    const names = arrived();   // trace ids, unique per span
    assert.equal(names.length, total, 'no span arrived twice');
    assert.equal(new Set(names).size, total);
    const m = await waitFor('the exporter counter to catch up', async () => {
      const s = await selfMetrics(bmetrics);
      return s && promSum(s, 'otelcol_exporter_sent_spans', { exporter: 'file' }) >= total && s;
    }, 20000);
    assert.equal(promSum(m, 'otelcol_receiver_accepted_spans', { receiver: 'opencensus' }), total);
    assert.equal(promSum(m, 'otelcol_exporter_sent_spans', { exporter: 'file' }), total);
    assert.equal(promSum(m, 'otelcol_receiver_dropped_spans', { receiver: 'opencensus' }), 0);
    const refusals = promSum(m, 'otelcol_ocagent_memory_budget_refusals_total');
    t.diagnostic(`RSS ${rss0} KiB -> max ${rssMax} KiB; ${drains} drains; budget refusals ${refusals}`);
    assert.ok(refusals > 0, 'the budget was spent, so the receiver had to pause');
    assert.ok(drains > 0, 'HTTP/2 flow control held the writer back (grpc-js asked it to wait for drain)');
    assert.ok(rssMax - rss0 < 32 * 1024, `RSS grew by ${rssMax - rss0} KiB`);
  } finally {
    client.close();
    const r = await bagent.stop();
    assert.equal(r.code, 0, bagent.stderr);
  }
});
