// The agent's own endpoints through the built binary: /metrics (service.telemetry.metrics.address)
// counts what the otlpjsonfile receiver took in and the file exporter wrote, in the Prometheus text
// format (checked by promtool); the health_check extension answers 200 while the pipelines run and
// stops answering 200 once SIGTERM arrives; metrics.level none listens on nothing; a metrics port
// in use stops the start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Agent, readJsonLines, tempDir, waitFor } from './lib/agent.mjs';
import { freePorts } from './lib/net.mjs';
import { traceRequest, flatten } from './lib/otlp.mjs';

// GET over a fresh connection; { status, type, text } or { error } (ECONNREFUSED ...).
async function get(port, p) {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${p}`, { headers: { connection: 'close' } });
    return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
  } catch (e) {
    return { error: e.cause?.code || e.code || String(e) };
  }
}

// The value of one series (name and labels exactly as printed), or undefined.
function sample(text, series) {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

function config(dir, { metricsPort, healthPort, level = 'normal' }) {
  return `
receivers:
  otlpjsonfile:
    include: ["${dir}/in/*.jsonl"]
    start_at: beginning
    poll_interval: 50ms
exporters:
  file:
    path: ${dir}/out.jsonl
    flush_interval: 50ms
extensions:
  health_check:
    endpoint: 127.0.0.1:${healthPort}
    path: /health
service:
  extensions: [health_check]
  telemetry:
    metrics:
      address: 127.0.0.1:${metricsPort}
      level: ${level}
  pipelines:
    traces:
      receivers: [otlpjsonfile]
      exporters: [file]
`;
}

function havePromtool() {
  return spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
}

// The Collector's counters keep its names, which have no `_total` suffix (as its default endpoint
// prints them), so promtool's one naming rule for counters is expected to fire for exactly those;
// any other remark (a parse error, a missing HELP, a bad name or unit) is a failure.
const collectorCounter = /^otelcol_(receiver_(accepted|refused|dropped)|processor_(accepted|refused|dropped)|exporter_(sent|send_failed|dropped|enqueue_failed))_(spans|metric_points|log_records)$|^otelcol_process_(uptime|cpu_seconds)$/;

function checkWithPromtool(text) {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  const remarks = (r.stdout + r.stderr).split('\n').filter((l) => l.trim());
  const unexpected = remarks.filter((l) => {
    const m = l.match(/^(\S+) counter metrics should have "_total" suffix$/);
    return !(m && collectorCounter.test(m[1]));
  });
  assert.deepEqual(unexpected, [], `promtool check metrics:\n${remarks.join('\n')}`);
  assert.ok(r.status === 0 || r.status === 3, `promtool exit ${r.status}: ${r.stderr}`);
}

test('/metrics counts what was received and written; health_check is 200 while running and not after SIGTERM', async () => {
  const dir = tempDir();
  const [metricsPort, healthPort] = await freePorts(2);
  fs.mkdirSync(path.join(dir, 'in'));
  const requests = [traceRequest(7, 'a'), traceRequest(13, 'b'), traceRequest(1, 'c')];
  const spans = flatten(requests).length;
  fs.writeFileSync(path.join(dir, 'in', 'spans.jsonl'), requests.map((r) => JSON.stringify(r)).join('\n') + '\n');

  const agent = new Agent(config(dir, { metricsPort, healthPort }), { dir });
  let stopped = false;
  try {
    await agent.started();
    const accepted = 'otelcol_receiver_accepted_spans{receiver="otlpjsonfile"}';
    const sent = 'otelcol_exporter_sent_spans{exporter="file"}';
    const m = await waitFor('the exporter to catch up in /metrics', async () => {
      const r = await get(metricsPort, '/metrics');
      return r.status === 200 && sample(r.text, sent) === spans ? r : null;
    });
    assert.equal(m.type, 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(sample(m.text, accepted), spans);
    assert.equal(sample(m.text, 'otelcol_receiver_refused_spans{receiver="otlpjsonfile"}'), 0);
    assert.equal(sample(m.text, 'otelcol_exporter_send_failed_spans{exporter="file"}'), 0);
    assert.equal(flatten(readJsonLines(path.join(dir, 'out.jsonl'))).length, spans);
    assert.ok(sample(m.text, 'otelcol_process_uptime') >= 0);
    assert.ok(sample(m.text, 'otelcol_process_memory_rss') > 1 << 20);
    assert.ok(sample(m.text, 'otelcol_process_cpu_seconds') > 0);
    assert.match(m.text, /^# TYPE otelcol_receiver_accepted_spans counter$/m);
    assert.ok(havePromtool(), 'promtool is missing: `make deps` installs it (Debian package prometheus)');
    checkWithPromtool(m.text);

    assert.equal((await get(metricsPort, '/')).status, 404);
    const post = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);

    const h = await get(healthPort, '/health');
    assert.equal(h.status, 200, JSON.stringify(h));
    assert.equal(JSON.parse(h.text).status, 'Server available');
    assert.equal((await get(healthPort, '/elsewhere')).status, 404);

    // After SIGTERM the probe must stop saying 200: 503 while draining, or no answer at all once
    // the listener is closing (a connection caught in the close is reset) or gone (refused).
    agent.proc.kill('SIGTERM');
    const after = await waitFor('health_check to stop answering 200', async () => {
      const r = await get(healthPort, '/health');
      return r.status === 200 ? null : r;
    });
    assert.ok(after.status === 503 || ['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET'].includes(after.error),
      JSON.stringify(after));
    if (after.status === 503) assert.equal(JSON.parse(after.text).status, 'Server not available');
    // One signal only: a second one would make the agent exit at once.
    await waitFor('the agent to exit', () => agent.exited);
    stopped = true;
    assert.equal(agent.exited.code, 0, agent.stderr);
    assert.match(agent.stderr, /serving the agent's own metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/);
    assert.equal((await get(metricsPort, '/metrics')).error, 'ECONNREFUSED');
  } finally {
    if (!stopped) await agent.stop();
  }
});

test('metrics.level none: nothing listens on the metrics address', async () => {
  const dir = tempDir();
  const [metricsPort, healthPort] = await freePorts(2);
  fs.mkdirSync(path.join(dir, 'in'));
  const agent = new Agent(config(dir, { metricsPort, healthPort, level: 'none' }), { dir });
  try {
    await agent.started();
    await waitFor('health_check', async () => (await get(healthPort, '/health')).status === 200);
    assert.equal((await get(metricsPort, '/metrics')).error, 'ECONNREFUSED');
  } finally {
    assert.equal((await agent.stop()).code, 0, agent.stderr);
  }
});

test('a metrics address already in use stops the start with exit code 1', async () => {
  const dir = tempDir();
  const holder = net.createServer();
  await new Promise((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const metricsPort = holder.address().port;
  try {
    fs.mkdirSync(path.join(dir, 'in'));
    const [healthPort] = await freePorts(1);
    const agent = new Agent(config(dir, { metricsPort, healthPort }), { dir });
    await waitFor('the agent to exit', () => agent.exited).catch(async (e) => { await agent.stop(); throw e; });
    assert.equal(agent.exited.code, 1, agent.stderr);
    assert.match(agent.stderr, new RegExp(`${metricsPort}`));
    assert.doesNotMatch(agent.stderr, /ocagent .* started/);
  } finally {
    await new Promise((resolve) => holder.close(resolve));
  }
});
