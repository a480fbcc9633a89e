// The real Prometheus server (Debian's `prometheus` package) scrapes the agent's prometheus exporter
// every second while the OpenTelemetry JS SDK sends a counter, an up-down counter, an observable
// gauge and a histogram over OTLP http/protobuf, once with cumulative and once with delta
// temporality; Prometheus's HTTP API must then return the values the SDK recorded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { Agent, tempDir, waitFor } from './lib/agent.mjs';
import { freePorts, waitListening } from './lib/net.mjs';
import { DEADLINE, PROMETHEUS, Prometheus } from './lib/prometheus.mjs';
import { AggregationTemporalityPreference, Tee, metricExporter } from './lib/sdk.mjs';


function agentConfig({ otlpPort, expPort, ownPort }) {
  return `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${otlpPort}
exporters:
  prometheus:
    endpoint: 127.0.0.1:${expPort}
service:
  telemetry:
    metrics:
      address: 127.0.0.1:${ownPort}
  pipelines:
    metrics:
      receivers: [otlp]
      exporters: [prometheus]
`;
}

// honor_labels keeps the job/instance the exporter derives from the resource (as the Collector's
// documentation advises); `up` still carries the scrape job's own labels.
function prometheusConfig({ expPort, ownPort }) {
  return `
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: ocagent
    honor_labels: true
    static_configs:
      - targets: ['127.0.0.1:${expPort}']
  - job_name: ocagent-self
    static_configs:
      - targets: ['127.0.0.1:${ownPort}']
`;
}

const near = (a, b) => Math.abs(a - b) < 1e-9;

// One SDK pipeline: a MeterProvider whose reader only exports when the test flushes it.
function sdk(otlpPort, instance, temporality) {
  const tee = new Tee(metricExporter('http/protobuf', { port: otlpPort }, temporality));
  const reader = new PeriodicExportingMetricReader({ exporter: tee, exportIntervalMillis: 3600000, exportTimeoutMillis: 20000 });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({
      'service.name': 'shop', 'service.namespace': 'prod', 'service.instance.id': instance, 'host.name': 'box',
    }),
    readers: [reader],
  });
  const meter = provider.getMeter('shop.lib', '2.0');
  const orders = meter.createCounter('orders', { unit: '{order}', description: 'Orders placed.' });
  const queue = meter.createUpDownCounter('queue.length', { unit: '{item}', description: 'Items queued.' });
  const temp = meter.createObservableGauge('room.temperature', { unit: 'Cel', description: 'Room temperature.' });
  temp.addCallback((r) => r.observe(21.5, { room: 'lab' }));
  const latency = meter.createHistogram('request.duration', {
    unit: 's', description: 'Request time.', advice: { explicitBucketBoundaries: [0.1, 0.5, 1] },
  });
  const flush = async () => {
    await provider.forceFlush();
    assert.equal(tee.pending, 0);
    assert.deepEqual(tee.failures(), [], `${instance}: export failed`);
  };
  return { provider, orders, queue, latency, flush, tee };
}

test('a real Prometheus scrapes the agent and its queries return what the SDK recorded', async () => {
  assert.ok(fs.existsSync(PROMETHEUS) && spawnSync(PROMETHEUS, ['--version']).status === 0,
    `${PROMETHEUS} is missing or broken: \`make deps\` (scripts/deps.sh) installs Debian's prometheus package`);
  const [otlpPort, expPort, ownPort, webPort] = await freePorts(4);
  const dir = tempDir('ocagent-prom-');
  const agent = new Agent(agentConfig({ otlpPort, expPort, ownPort }), { dir });
  let prom = null;
  const pipes = [];
  try {
    await agent.started();
    await waitListening([otlpPort, expPort, ownPort], agent);
    prom = new Prometheus({ dir, webPort, config: prometheusConfig({ expPort, ownPort }) });
    await prom.ready();

    const cum = sdk(otlpPort, 'cum-1', AggregationTemporalityPreference.CUMULATIVE);
    const del = sdk(otlpPort, 'delta-1', AggregationTemporalityPreference.DELTA);
    pipes.push(cum, del);
    const attrs = { method: 'GET' };

    // Step 1.
    for (const p of pipes) {
      p.orders.add(5, attrs);
      p.queue.add(10);
      for (const v of [0.05, 0.2]) p.latency.record(v, attrs);
      await p.flush();
    }
    for (const inst of ['cum-1', 'delta-1']) {
      await prom.until(`orders_total{job="prod/shop",instance="${inst}",method="GET"}`, (v) => v === 5);
    }

    // Step 2: the delta pipeline sends only the increments, which the exporter accumulates.
    for (const p of pipes) {
      p.orders.add(7, attrs);
      p.queue.add(-3);
      for (const v of [0.3, 0.7, 2]) p.latency.record(v, attrs);
      await p.flush();
    }

    for (const inst of ['cum-1', 'delta-1']) {
      const sel = `job="prod/shop",instance="${inst}"`;
      const s = await prom.until(`orders_total{${sel},method="GET"}`, (v) => v === 12);
      assert.equal(s.metric.otel_scope_name, 'shop.lib');
      assert.equal(s.metric.otel_scope_version, '2.0');

      // The raw samples Prometheus stored: 5 for a while, then 12, and nothing else.
      const at = Number((await prom.query('time()')).result[1]);
      const raw = (await prom.query(`orders_total{${sel}}[2m]`, at)).result;
      assert.equal(raw.length, 1, JSON.stringify(raw));
      const vals = raw[0].values.map(([, v]) => Number(v));
      assert.ok(vals.length >= 2 && vals[0] === 5 && vals.at(-1) === 12 && vals.every((v) => v === 5 || v === 12) &&
        vals.every((v, i) => i === 0 || v >= vals[i - 1]), `${inst} samples ${JSON.stringify(vals)}`);
      // increase() over the same window: at least the true 7, at most what Prometheus's
      // extrapolation (half an average interval beyond each end, at most 1.1 of one) can add.
      const inc = Number((await prom.query(`increase(orders_total{${sel}}[2m])`, at)).result[0].value[1]);
      const n = vals.length;
      assert.ok(inc >= 7 - 1e-9 && inc <= 7 * (1 + 2.2 / (n - 1)) + 1e-9, `${inst} increase ${inc} over ${n} samples`);

      await prom.until(`queue_length{${sel}}`, (v) => v === 7);
      await prom.until(`room_temperature_celsius{${sel},room="lab"}`, (v) => v === 21.5);

      const h = `request_duration_seconds`;
      await prom.until(`${h}_count{${sel},method="GET"}`, (v) => v === 5);
      await prom.until(`${h}_sum{${sel},method="GET"}`, (v) => near(v, 3.25));
      for (const [le, c] of [['0.1', 1], ['0.5', 3], ['1', 4], ['+Inf', 5]]) {
        await prom.until(`${h}_bucket{${sel},method="GET",le="${le}"}`, (v) => v === c);
      }
      // Rank 2.5 of 5 falls in (0.1, 0.5] holding ranks 2..3: 0.1 + 0.4 * (2.5 - 1) / 2 = 0.4.
      await prom.until(`histogram_quantile(0.5, ${h}_bucket{${sel}})`, (v) => near(v, 0.4));

      const ti = await prom.until(`target_info{${sel}}`, (v) => v === 1);
      const { __name__: name, ...labels } = ti.metric;
      assert.equal(name, 'target_info');
      assert.deepEqual(labels, { job: 'prod/shop', instance: inst, host_name: 'box' });
    }

    // Prometheus's own view of its targets.
    await waitFor('both targets up', async () => {
      const j = await prom.get('/api/v1/targets?state=active');
      const t = j?.data?.activeTargets ?? [];
      return ['ocagent', 'ocagent-self'].every((job) => t.some((x) => x.labels.job === job && x.health === 'up'));
    }, DEADLINE);
    await prom.until('up{job="ocagent"}', (v) => v === 1);
    await prom.until('up{job="ocagent-self"}', (v) => v === 1);
    // The agent's own counters, scraped by the same Prometheus: nothing refused or failed.
    await prom.until('sum(otelcol_receiver_accepted_metric_points{job="ocagent-self"})', (v) => v > 0);
    const refused = await prom.query('sum(otelcol_receiver_refused_metric_points{job="ocagent-self"})');
    assert.ok(refused.result.length === 0 || Number(refused.result[0].value[1]) === 0, JSON.stringify(refused.result));
  } finally {
    for (const p of pipes) await p.provider.shutdown().catch(() => {});
    if (prom) {
      const r = await prom.stop();
      assert.equal(r.code, 0, `prometheus exit ${JSON.stringify(r)}:\n${prom.log}`);
    }
    assert.equal((await agent.stop()).code, 0, agent.stderr);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
