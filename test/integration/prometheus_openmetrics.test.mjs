// OpenMetrics and the OpenCensus client through the prometheus exporter (enable_open_metrics: true).
// First the exposition itself: asked with Prometheus's Accept header, the scrape is OpenMetrics 1.0
// (# TYPE without _total on counters, # UNIT, exemplars with trace_id/span_id on counters and
// histogram buckets, # EOF), the same values as the text format, which is still served to scrapers
// that do not ask. Then Debian's real Prometheus (exemplar storage on) scrapes it every second,
// parsing OpenMetrics itself, while an OpenCensus MetricsService client on @grpc/grpc-js sends every
// metric type it has (gauges and cumulatives of int64 and double, a cumulative distribution, a
// summary) into the opencensus receiver and OTLP/JSON brings the exemplars; the HTTP API must return
// the values sent and the exemplars with their trace and span ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import zlib from 'node:zlib';
import grpc from '@grpc/grpc-js';
import { Agent, tempDir, waitFor } from './lib/agent.mjs';
import { freePorts, httpRequest, parseProm, waitListening } from './lib/net.mjs';
import { MetricsService, exportStream } from './lib/opencensus.mjs';
import { DEADLINE, Prometheus } from './lib/prometheus.mjs';


// What Prometheus 2.x sends.
const PROM_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,' +
  'text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const TRACE = '5b8efff798038103d269b633813fc60c';
const SPAN = 'eee19b7ec3c1b174';

function agentConfig({ otlpPort, ocPort, expPort }) {
  return `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${otlpPort}
  opencensus:
    endpoint: 127.0.0.1:${ocPort}
exporters:
  prometheus:
    endpoint: 127.0.0.1:${expPort}
    enable_open_metrics: true
service:
  pipelines:
    metrics:
      receivers: [otlp, opencensus]
      exporters: [prometheus]
`;
}

// OTLP/JSON with exemplars: a counter (two exemplars: the last is shown) and a histogram whose
// exemplars land in the buckets their values fall in.
function otlpRequest(nowNs) {
  const t = String(nowNs);
  const ex = (v, dt) => ({ timeUnixNano: String(nowNs - BigInt(dt) * 1000000n), asDouble: v, traceId: TRACE, spanId: SPAN });
  return {
    resourceMetrics: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } },
        { key: 'service.instance.id', value: { stringValue: 'c-1' } }] },
      scopeMetrics: [{
        scope: { name: 'checkout.lib' },
        metrics: [
          { name: 'payments', unit: '{payment}', description: 'Payments "taken".',
            sum: { aggregationTemporality: 2, isMonotonic: true,
              dataPoints: [{ startTimeUnixNano: String(nowNs - 60000000000n), timeUnixNano: t, asInt: '42',
                exemplars: [ex(1, 900), ex(3, 500)] }] } },
          { name: 'payment.duration', unit: 's', description: 'Payment time.',
            histogram: { aggregationTemporality: 2, dataPoints: [{ startTimeUnixNano: String(nowNs - 60000000000n),
              timeUnixNano: t, count: '6', sum: 4.5, explicitBounds: [0.25, 1], bucketCounts: ['2', '3', '1'],
              exemplars: [ex(0.125, 800), ex(0.75, 700), ex(2, 600)] }] } },
        ],
      }],
    }],
  };
}

async function scrape(port, headers) {
  const r = await httpRequest({ port, method: 'GET', path: '/metrics', headers });
  assert.equal(r.status, 200);
  const body = r.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(r.body) : r.body;
  return { text: body.toString('utf8'), type: r.headers['content-type'] };
}

// Every metric type of the OpenCensus client, two label values each for the scalar ones.
function ocMetrics() {
  const now = Date.now();
  const ts = { seconds: Math.floor(now / 1000), nanos: 0 };
  const start = { seconds: Math.floor(now / 1000) - 60, nanos: 0 };
  const desc = (name, unit, type) => ({ name, description: `${name} from OpenCensus`, unit, type, label_keys: [{ key: 'shard' }] });
  const series = (shard, point) => ({ start_timestamp: start, label_values: [{ value: shard, has_value: true }],
    points: [{ timestamp: ts, ...point }] });
  return [
    { metric_descriptor: desc('oc.conns', 'By', 'GAUGE_INT64'),
      timeseries: [series('a', { int64_value: '7' }), series('b', { int64_value: '-2' })] },
    { metric_descriptor: desc('oc.load', '1', 'GAUGE_DOUBLE'),
      timeseries: [series('a', { double_value: 0.75 }), series('b', { double_value: 1.5 })] },
    { metric_descriptor: desc('oc.requests', '{request}', 'CUMULATIVE_INT64'),
      timeseries: [series('a', { int64_value: '9' }), series('b', { int64_value: '11' })] },
    { metric_descriptor: desc('oc.busy', 's', 'CUMULATIVE_DOUBLE'),
      timeseries: [series('a', { double_value: 2.5 }), series('b', { double_value: 0.5 })] },
    { metric_descriptor: desc('oc.latency', 'ms', 'CUMULATIVE_DISTRIBUTION'), timeseries: [series('a', { distribution_value: {
      count: '4', sum: 42, bucket_options: { explicit: { bounds: [5, 10] } },
      buckets: [{ count: '1' }, { count: '2' }, { count: '1' }] } })] },
    { metric_descriptor: desc('oc.size', 'By', 'SUMMARY'), timeseries: [series('a', { summary_value: {
      count: { value: '10' }, sum: { value: 55 },
      snapshot: { percentile_values: [{ percentile: 50, value: 5 }, { percentile: 99, value: 9.5 }] } } })] },
  ];
}

function prometheusConfig(expPort) {
  return `
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: ocagent
    honor_labels: true
    static_configs:
      - targets: ['127.0.0.1:${expPort}']
`;
}

test('OpenMetrics with exemplars, and every OpenCensus metric type, through a real Prometheus', async () => {
  const [otlpPort, ocPort, expPort, webPort] = await freePorts(4);
  const dir = tempDir('ocagent-om-');
  const agent = new Agent(agentConfig({ otlpPort, ocPort, expPort }), { dir });
  let prom = null;
  let client = null;
  try {
    await agent.started();
    await waitListening([otlpPort, ocPort, expPort], agent);
    const nowNs = BigInt(Date.now()) * 1000000n;
    const r = await httpRequest({ port: otlpPort, path: '/v1/metrics', headers: { 'content-type': 'application/json' },
      body: JSON.stringify(otlpRequest(nowNs)) });
    assert.equal(r.status, 200, r.body?.toString());

    // The exposition as Prometheus asks for it (gzip too).
    const om = await scrape(expPort, { accept: PROM_ACCEPT, 'accept-encoding': 'gzip' });
    assert.equal(om.type, 'application/openmetrics-text; version=1.0.0; charset=utf-8');
    const lines = om.text.split('\n');
    assert.equal(lines.at(-2), '# EOF');
    assert.equal(lines.at(-1), '');
    assert.ok(lines.includes('# HELP payments Payments \\"taken\\".'), om.text);
    assert.ok(lines.includes('# TYPE payments counter'), om.text);
    assert.ok(lines.includes('# TYPE payment_duration_seconds histogram'), om.text);
    assert.ok(lines.includes('# UNIT payment_duration_seconds seconds'), om.text);
    const exTime = (dt) => {
      const ms = nowNs / 1000000n - BigInt(dt);
      return `${ms / 1000n}.${String(ms % 1000n).padStart(3, '0')}`;
    };
    const exemplar = (v, dt) => ` # {trace_id="${TRACE}",span_id="${SPAN}"} ${v} ${exTime(dt)}`;
    const base = 'instance="c-1",job="checkout",otel_scope_name="checkout.lib"';
    for (const want of [
      `payments_total{${base}} 42${exemplar(3, 500)}`,
      `payment_duration_seconds_bucket{${base},le="0.25"} 2${exemplar(0.125, 800)}`,
      `payment_duration_seconds_bucket{${base},le="1"} 5${exemplar(0.75, 700)}`,
      `payment_duration_seconds_bucket{${base},le="+Inf"} 6${exemplar(2, 600)}`,
      `payment_duration_seconds_count{${base}} 6`,
    ]) assert.ok(lines.includes(want), `missing ${want} in:\n${om.text}`);

    // Not asked for: the text format with the same samples and no exemplars.
    const text = await scrape(expPort, {});
    assert.equal(text.type, 'text/plain; version=0.0.4; charset=utf-8');
    assert.doesNotMatch(text.text, /# EOF|trace_id/);
    const strip = (t) => parseProm(t.replace(/ # \{.*$/gm, '')).map((x) => `${x.name} ${JSON.stringify(x.labels)} ${x.value}`).sort();
    assert.deepEqual(strip(text.text), strip(om.text));

    prom = new Prometheus({ dir, webPort, config: prometheusConfig(expPort), features: ['exemplar-storage'] });
    await prom.ready();

    client = new MetricsService(`127.0.0.1:${ocPort}`, grpc.credentials.createInsecure());
    const node = { identifier: { host_name: 'oc-host', pid: 77 }, service_info: { name: 'inventory' },
      library_info: { language: 'GO_LANG', core_library_version: '0.23.0' } };
    const metrics = ocMetrics();
    const status = await exportStream(client, [{ node, metrics: metrics.slice(0, 3) }, { metrics: metrics.slice(3) }]);
    assert.equal(status.code, grpc.status.OK, status.details);

    // Prometheus parsed the OpenMetrics scrape: the OTLP values and the exemplars.
    await prom.until('payments_total{job="checkout"}', (v) => v === 42);
    await prom.until('payment_duration_seconds_bucket{job="checkout",le="1"}', (v) => v === 5);
    const ex = await waitFor('exemplars', async () => {
      const end = Date.now() / 1000 + 60;
      const j = await prom.get(`/api/v1/query_exemplars?query=${encodeURIComponent('{job="checkout"}')}` +
        `&start=${end - 3600}&end=${end}`);
      const d = j?.data ?? [];
      return d.length >= 4 ? d : null;
    }, DEADLINE);
    const byName = {};
    for (const s of ex) byName[`${s.seriesLabels.__name__}${s.seriesLabels.le ? `{le=${s.seriesLabels.le}}` : ''}`] = s.exemplars;
    const check = (key, value, dt) => {
      const e = byName[key];
      assert.ok(e && e.length >= 1, `${key}: ${JSON.stringify(ex)}`);
      assert.deepEqual(e.at(-1).labels, { trace_id: TRACE, span_id: SPAN });
      assert.equal(Number(e.at(-1).value), value);
      assert.equal(e.at(-1).timestamp, Number(exTime(dt)));
    };
    check('payments_total', 3, 500);
    check('payment_duration_seconds_bucket{le=0.25}', 0.125, 800);
    check('payment_duration_seconds_bucket{le=1}', 0.75, 700);
    check('payment_duration_seconds_bucket{le=+Inf}', 2, 600);

    // Every OpenCensus type, by the names the compatibility spec gives them.
    const sel = (shard) => `job="inventory",shard="${shard}"`;
    for (const [q, v] of [
      [`oc_conns_bytes{${sel('a')}}`, 7], [`oc_conns_bytes{${sel('b')}}`, -2],
      [`oc_load_ratio{${sel('a')}}`, 0.75], [`oc_load_ratio{${sel('b')}}`, 1.5],
      [`oc_requests_total{${sel('a')}}`, 9], [`oc_requests_total{${sel('b')}}`, 11],
      [`oc_busy_seconds_total{${sel('a')}}`, 2.5], [`oc_busy_seconds_total{${sel('b')}}`, 0.5],
      [`oc_latency_milliseconds_bucket{${sel('a')},le="5"}`, 1],
      [`oc_latency_milliseconds_bucket{${sel('a')},le="10"}`, 3],
      [`oc_latency_milliseconds_bucket{${sel('a')},le="+Inf"}`, 4],
      [`oc_latency_milliseconds_sum{${sel('a')}}`, 42], [`oc_latency_milliseconds_count{${sel('a')}}`, 4],
      // Rank 2 of 4 falls in (5, 10] holding ranks 2..3: 5 + 5 * (2 - 1) / 2 = 7.5.
      [`histogram_quantile(0.5, oc_latency_milliseconds_bucket{${sel('a')}})`, 7.5],
      [`oc_size_bytes{${sel('a')},quantile="0.5"}`, 5], [`oc_size_bytes{${sel('a')},quantile="0.99"}`, 9.5],
      [`oc_size_bytes_sum{${sel('a')}}`, 55], [`oc_size_bytes_count{${sel('a')}}`, 10],
    ]) await prom.until(q, (x) => Math.abs(x - v) < 1e-9);
    const ti = await prom.until('target_info{job="inventory"}', (v) => v === 1);
    assert.equal(ti.metric.host_name, 'oc-host');
    const meta = await prom.get('/api/v1/metadata?metric=oc_busy_seconds');
    assert.equal(meta?.data?.oc_busy_seconds?.[0]?.type, 'counter', JSON.stringify(meta));
    await prom.until('up{job="ocagent"}', (v) => v === 1);
  } finally {
    client?.close();
    if (prom) {
      const r = await prom.stop();
      assert.equal(r.code, 0, `prometheus exit ${JSON.stringify(r)}:\n${prom.log}`);
    }
    assert.equal((await agent.stop()).code, 0, agent.stderr);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
