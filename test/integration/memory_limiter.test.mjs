// The memory_limiter processor in the agent, with a Collector-style pipeline: with a limit far
// above the agent's resident memory the spans pass and arrive in the file exporter; with a limit
// below it (the agent's idle RSS is several MiB), OTLP/HTTP requests are refused with 503 and a
// Retry-After, the refusal is logged once, and the processor and receiver counters say so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Agent, readJsonLines, tempDir, waitFor } from './lib/agent.mjs';
import { flatten, traceRequest } from './lib/otlp.mjs';
import { freePorts, httpRequest, parseProm, promSum, waitListening } from './lib/net.mjs';

function config(dir, p, limiter) {
  return `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${p.http}
processors:
  memory_limiter:
    check_interval: 50ms
    ${limiter}
  batch:
    timeout: 50ms
exporters:
  file:
    path: ${dir}/out.jsonl
    flush_interval: 50ms
service:
  telemetry:
    metrics:
      address: 127.0.0.1:${p.metrics}
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [file]
`;
}

const post = (port, req) => httpRequest({
  port, path: '/v1/traces', headers: { 'content-type': 'application/json' }, body: JSON.stringify(req),
});

async function counters(port) {
  const r = await httpRequest({ port, method: 'GET', path: '/metrics' });
  return parseProm(r.body.toString('utf8'));
}

test('a limit far above the agent: spans pass through to the exporter', async () => {
  const dir = tempDir('ocagent-ml-');
  const [httpPort, metricsPort] = await freePorts(2);
  const agent = new Agent(config(dir, { http: httpPort, metrics: metricsPort }, 'limit_mib: 4000\n    spike_limit_mib: 800'), { dir });
  try {
    await agent.started();
    await waitListening([httpPort], agent);
    const req = traceRequest(7, 'ml-pass');
    const r = await post(httpPort, req);
    assert.equal(r.status, 200, r.body.toString());
    const out = path.join(dir, 'out.jsonl');
    await waitFor('7 spans in the file', () => flatten(readJsonLines(out)).length === 7);
    assert.deepEqual(flatten(readJsonLines(out)).map((x) => x.item.name).sort(), flatten([req]).map((x) => x.item.name).sort());
    const m = await counters(metricsPort);
    assert.equal(promSum(m, 'otelcol_processor_accepted_spans', { processor: 'memory_limiter' }), 7);
  } finally {
    await agent.stop();
  }
});

test('a limit below the agent: refused with 503 and Retry-After, logged and counted', async () => {
  const dir = tempDir('ocagent-ml-');
  const [httpPort, metricsPort] = await freePorts(2);
  const agent = new Agent(config(dir, { http: httpPort, metrics: metricsPort }, 'limit_mib: 2\n    spike_limit_mib: 1'), { dir });
  try {
    await agent.started();
    await waitListening([httpPort], agent);
    await agent.waitLog(/memory usage .* MiB is above the soft limit 1\.0 MiB/);
    for (let i = 0; i < 3; i++) {
      const r = await post(httpPort, traceRequest(5, `ml-refused-${i}`));
      assert.equal(r.status, 503, r.body.toString());
      assert.ok(Number(r.headers['retry-after']) >= 1, `Retry-After: ${r.headers['retry-after']}`);
    }
    const m = await counters(metricsPort);
    assert.equal(promSum(m, 'otelcol_processor_refused_spans', { processor: 'memory_limiter' }), 15);
    assert.equal(promSum(m, 'otelcol_receiver_refused_spans', { receiver: 'otlp' }), 15);
    assert.equal(promSum(m, 'otelcol_receiver_accepted_spans', { receiver: 'otlp' }), 0);
    assert.equal(readJsonLines(path.join(dir, 'out.jsonl')).length, 0);
    assert.equal(agent.stderr.match(/above the soft limit/g).length, 1, 'the refusal is logged once, not per request');
  } finally {
    await agent.stop();
  }
});
