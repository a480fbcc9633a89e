// The prometheus exporter through the built binary: OTLP/JSON metrics posted to the otlp receiver
// (cumulative and delta counters, a gauge, an up-down counter, a histogram, a summary) are served on
// GET /metrics with the compatibility spec's names, job/instance/scope labels and target_info,
// deltas accumulated, gzip when asked, and `promtool check metrics` has nothing to say about it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import zlib from 'node:zlib';
import { Agent, waitFor } from './lib/agent.mjs';
import { freePorts, httpRequest, parseProm, promSum, waitListening } from './lib/net.mjs';

function config({ otlpPort, promPort }) {
  return `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${otlpPort}
exporters:
  prometheus:
    endpoint: 127.0.0.1:${promPort}
    const_labels:
      region: eu
service:
  pipelines:
    metrics:
      receivers: [otlp]
      exporters: [prometheus]
`;
}

const resource = {
  attributes: [
    { key: 'service.name', value: { stringValue: 'shop' } },
    { key: 'service.namespace', value: { stringValue: 'prod' } },
    { key: 'service.instance.id', value: { stringValue: 'i-1' } },
    { key: 'host.name', value: { stringValue: 'box' } },
  ],
};
const attrs = [{ key: 'http.method', value: { stringValue: 'GET' } }];

function request(step) {
  const t = (s) => String(BigInt(s) * 1000000000n);
  return {
    resourceMetrics: [{
      resource,
      scopeMetrics: [{
        scope: { name: 'shop.lib', version: '2.0' },
        metrics: [
          { name: 'http.server.requests', unit: '{request}', description: 'Requests served.',
            sum: { aggregationTemporality: 2, isMonotonic: true,
              dataPoints: [{ attributes: attrs, startTimeUnixNano: t(1), timeUnixNano: t(10 + step), asInt: String(10 + 5 * step) }] } },
          { name: 'jobs.done', description: 'Jobs finished.',
            sum: { aggregationTemporality: 1, isMonotonic: true,
              dataPoints: [{ startTimeUnixNano: t(10 + step), timeUnixNano: t(11 + step), asInt: String(3 + step) }] } },
          { name: 'cpu.utilization', unit: '1', description: 'CPU in use.',
            gauge: { dataPoints: [{ timeUnixNano: t(10 + step), asDouble: 0.25 + step / 4 }] } },
          { name: 'queue.length', unit: '{item}', description: 'Items queued.',
            sum: { aggregationTemporality: 2, isMonotonic: false,
              dataPoints: [{ startTimeUnixNano: t(1), timeUnixNano: t(10 + step), asInt: String(-2 + step) }] } },
          { name: 'http.server.duration', unit: 's', description: 'Request time.',
            histogram: { aggregationTemporality: 1, dataPoints: [{ attributes: attrs,
              startTimeUnixNano: t(10 + step), timeUnixNano: t(11 + step), count: '4', sum: 2.5,
              explicitBounds: [0.1, 1], bucketCounts: ['1', '2', '1'] }] } },
          { name: 'rpc.latency', unit: 'ms', description: 'RPC latency.',
            summary: { dataPoints: [{ timeUnixNano: t(10 + step), count: '3', sum: 30,
              quantileValues: [{ quantile: 0.5, value: 9 }, { quantile: 0.99, value: 15 }] }] } },
          // Dropped: a non-monotonic delta sum.
          { name: 'dropped.updown', description: 'x',
            sum: { aggregationTemporality: 1, isMonotonic: false, dataPoints: [{ timeUnixNano: t(10), asInt: '1' }] } },
        ],
      }],
    }],
  };
}

async function post(port, body) {
  const r = await httpRequest({ port, path: '/v1/metrics', headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body) });
  assert.equal(r.status, 200, r.body?.toString());
}

async function scrape(port, headers = {}) {
  const r = await httpRequest({ port, method: 'GET', path: '/metrics', headers });
  assert.equal(r.status, 200);
  const gz = r.headers['content-encoding'] === 'gzip';
  return { text: (gz ? zlib.gunzipSync(r.body) : r.body).toString('utf8'), headers: r.headers };
}

test('OTLP metrics are served for Prometheus with the spec names, accumulated deltas and target_info', async () => {
  const [otlpPort, promPort] = await freePorts(2);
  const agent = new Agent(config({ otlpPort, promPort }));
  try {
    await agent.started();
    await waitListening([otlpPort, promPort], agent);
    await post(otlpPort, request(0));
    await post(otlpPort, request(1));
    const { text, headers } = await scrape(promPort);
    assert.equal(headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    const s = parseProm(text);
    const base = { job: 'prod/shop', instance: 'i-1', otel_scope_name: 'shop.lib', otel_scope_version: '2.0', region: 'eu' };
    const get = (name, extra = {}) => {
      const m = s.filter((x) => x.name === name && Object.entries({ ...base, ...extra }).every(([k, v]) => x.labels[k] === v));
      assert.equal(m.length, 1, `${name} ${JSON.stringify(extra)} in:\n${text}`);
      return m[0].value;
    };
    assert.equal(get('http_server_requests_total', { http_method: 'GET' }), 15);
    assert.equal(get('jobs_done_total'), 3 + 4);                   // two deltas, the second continuing the first
    assert.equal(get('cpu_utilization_ratio'), 0.5);
    assert.equal(get('queue_length'), -1);
    assert.equal(get('http_server_duration_seconds_bucket', { http_method: 'GET', le: '0.1' }), 2);
    assert.equal(get('http_server_duration_seconds_bucket', { http_method: 'GET', le: '1' }), 6);
    assert.equal(get('http_server_duration_seconds_bucket', { http_method: 'GET', le: '+Inf' }), 8);
    assert.equal(get('http_server_duration_seconds_sum', { http_method: 'GET' }), 5);
    assert.equal(get('http_server_duration_seconds_count', { http_method: 'GET' }), 8);
    assert.equal(get('rpc_latency_milliseconds', { quantile: '0.99' }), 15);
    assert.equal(get('rpc_latency_milliseconds_count'), 3);
    assert.doesNotMatch(text, /dropped_updown/);
    assert.match(text, /^# TYPE http_server_requests_total counter$/m);
    assert.match(text, /^# HELP jobs_done_total Jobs finished\.$/m);
    assert.match(text, /^# TYPE http_server_duration_seconds histogram$/m);
    assert.match(text, /^# TYPE rpc_latency_milliseconds summary$/m);
    const ti = s.filter((x) => x.name === 'target_info');
    assert.equal(ti.length, 1);
    assert.deepEqual(ti[0].labels, { job: 'prod/shop', instance: 'i-1', host_name: 'box', region: 'eu' });

    // Deterministic: the same state scrapes to the same bytes; gzip inflates to them too.
    assert.equal((await scrape(promPort)).text, text);
    const z = await scrape(promPort, { 'accept-encoding': 'gzip' });
    assert.equal(z.headers['content-encoding'], 'gzip');
    assert.equal(z.text, text);

    assert.equal(spawnSync('promtool', ['--version']).status, 0,
      'promtool is missing: `make deps` installs it (Debian package prometheus)');
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    // rpc_latency_milliseconds is named as the spec says; promtool prefers base units.
    const remarks = (lint.stdout + lint.stderr).split('\n').filter((l) => l.trim() && !/rpc_latency_milliseconds.*base unit/.test(l));
    assert.deepEqual(remarks, [], `promtool check metrics:\n${lint.stdout}${lint.stderr}`);

    // The agent's own counters: 6 points in each of the two requests taken, 1 dropped each time.
    const own = await waitFor('own metrics', async () => {
      const m = agent.stderr.match(/serving the agent's own metrics on http:\/\/[^:]+:(\d+)\/metrics/);
      return m && Number(m[1]);
    });
    const ownText = (await httpRequest({ port: own, method: 'GET', path: '/metrics' })).body.toString();
    const ownSamples = parseProm(ownText);
    assert.equal(promSum(ownSamples, 'otelcol_exporter_sent_metric_points', { exporter: 'prometheus' }), 12);
  } finally {
    assert.equal((await agent.stop()).code, 0, agent.stderr);
  }
});
