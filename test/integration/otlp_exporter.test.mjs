// Agent to agent: the OpenTelemetry JS SDK sends traces, metrics and logs into agent A, whose otlp
// receiver hands them to an otlp (gRPC) or otlphttp exporter aimed at agent B, whose otlp receiver
// writes them to a file. What comes out of B must be what the SDK sent into A, every field, for
// each exporter setting: gRPC with gzip, zstd and none, OTLP/HTTP in protobuf and JSON with gzip,
// zstd and none, and both over TLS verified with a CA file. The aliases otlp_grpc and otlp_http are
// used for some of the runs, and A's counters must say that everything was sent.
// A passes protobuf requests on undecoded (raw) when every consumer takes their bytes: the otlp
// exporter, otlphttp with encoding proto, the batch processor in front of them. With a debug
// exporter beside them, or otlphttp sending JSON, A decodes; both paths must give the same output.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Agent, runSync, tempDir } from './lib/agent.mjs';
import { freePorts, makeCerts, waitListening } from './lib/net.mjs';
import { exporterCounters } from './lib/otlp_backends.mjs';
import { DEADLINE, checkLogs, checkMetrics, checkTraces, sendLogs, sendMetrics, sendTraces } from './lib/sdk_scenarios.mjs';

// Agent B: OTLP in on gRPC and HTTP (with TLS when certs are given), a file out.
function backendConfig(dir, { grpcPort, httpPort, certs }) {
  const tls = certs ? `
        tls:
          cert_file: ${certs.server_crt}
          key_file: ${certs.server_key}` : '';
  return `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${grpcPort}${tls}
      http:
        endpoint: 127.0.0.1:${httpPort}${tls}
exporters:
  file:
    path: ${dir}/out.jsonl
    flush_interval: 0s
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [file]}
    metrics: {receivers: [otlp], exporters: [file]}
    logs: {receivers: [otlp], exporters: [file]}
`;
}

// Agent A: OTLP/gRPC in, the exporter under test out, its own metrics on metricsPort.
function forwarderConfig({ grpcPort, metricsPort, id, exporter, shutdownTimeout = '10s', processors = [], extra = [] }) {
  const list = `processors: [${processors.join(', ')}], exporters: [${[id, ...extra].join(', ')}]`;
  return `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${grpcPort}
processors:
  batch:
    timeout: 50ms
exporters:
  debug:
    verbosity: basic
  ${id}:
${exporter.trim().split('\n').map((l) => `    ${l}`).join('\n')}
service:
  shutdown_timeout: ${shutdownTimeout}
  telemetry:
    metrics:
      address: 127.0.0.1:${metricsPort}
  pipelines:
    traces: {receivers: [otlp], ${list}}
    metrics: {receivers: [otlp], ${list}}
    logs: {receivers: [otlp], ${list}}
`;
}

async function startBackend(certs) {
  const dir = tempDir('ocagent-chain-b-');
  const [grpcPort, httpPort] = await freePorts(2);
  const agent = new Agent(backendConfig(dir, { grpcPort, httpPort, certs }), { dir });
  await agent.started();
  await waitListening([grpcPort, httpPort], agent);
  return { agent, grpcPort, httpPort, out: path.join(dir, 'out.jsonl') };
}

// Sends every signal through a forwarder A built with `exporter` into B and checks what B wrote.
// raw: whether A must pass requests on undecoded (it logs so at start for each signal).
async function chain(b, tag, id, exporter, { signals = ['traces', 'metrics', 'logs'], processors, extra, raw } = {}) {
  const [grpcPort, metricsPort] = await freePorts(2);
  const a = new Agent(forwarderConfig({ grpcPort, metricsPort, id, exporter, processors, extra }));
  try {
    await a.started();
    await waitListening([grpcPort], a);
    if (raw !== undefined)
      for (const s of ['traces', 'metrics', 'logs'])
        assert.equal(new RegExp(`${s}: protobuf requests are checked and passed on undecoded`).test(a.stderr), raw,
          `A ${raw ? 'passes' : 'does not pass'} ${s} on undecoded:\n${a.stderr}`);
    const opts = { port: grpcPort, compression: 'none' };
    let spans = [], records = [], points = 0;
    if (signals.includes('traces')) {
      ({ spans } = await sendTraces('grpc', tag, opts, false));
      await checkTraces(b.out, tag, spans, false);
    }
    if (signals.includes('metrics')) {
      const collected = await sendMetrics('grpc', tag, opts);
      await checkMetrics(b.out, tag, collected, false);
      points = collected.reduce((n, rm) => n + rm.scopeMetrics.reduce((m, sm) => m + sm.metrics.reduce((k, md) => k + md.dataPoints.length, 0), 0), 0);
    }
    if (signals.includes('logs')) {
      records = await sendLogs('grpc', tag, opts, false);
      await checkLogs(b.out, tag, records, false);
    }
    // B has everything, so A has been answered for everything: its counters are final.
    const c = await exporterCounters(metricsPort, id);
    assert.deepEqual(c, { sent: spans.length, sentPoints: points, sentLogs: records.length, failed: 0, failedOther: 0, enqueueFailed: 0, queue: 0 },
      `the counters of ${id} on A`);
    assert.doesNotMatch(a.stderr, /partial success|dropping/, 'A logged no trouble');
  } finally {
    const r = await a.stop();
    assert.equal(r.code, 0, a.stderr);
  }
}

describe('agent A (otlp receiver -> OTLP exporter) -> agent B (otlp receiver -> file)', () => {
  let b;
  before(async () => { b = await startBackend(null); });
  after(async () => {
    const r = await b.agent.stop();
    assert.equal(r.code, 0, b.agent.stderr);
  });

  const quick = 'retry_on_failure: {initial_interval: 100ms}';
  test('otlp over gRPC, gzip (the default)', () =>
    chain(b, 'chain-grpc-gzip', 'otlp', `endpoint: 127.0.0.1:${b.grpcPort}\ntls: {insecure: true}\n${quick}`, { raw: true }));
  test('otlp behind a batch processor: requests concatenated undecoded', () =>
    chain(b, 'chain-grpc-batch', 'otlp', `endpoint: 127.0.0.1:${b.grpcPort}\ntls: {insecure: true}\n${quick}`,
      { processors: ['batch'], raw: true }));
  test('otlp behind a batch processor with a debug exporter beside it: A decodes', () =>
    chain(b, 'chain-grpc-debug', 'otlp', `endpoint: 127.0.0.1:${b.grpcPort}\ntls: {insecure: true}\n${quick}`,
      { processors: ['batch'], extra: ['debug'], raw: false }));
  test('otlp over gRPC, zstd behind a batch processor (grpc-encoding: zstd)', () =>
    chain(b, 'chain-grpc-zstd', 'otlp/zstd', `endpoint: 127.0.0.1:${b.grpcPort}\ncompression: zstd\ntls: {insecure: true}\n${quick}`,
      { processors: ['batch'], raw: true }));
  test('otlp_grpc (alias) without compression, endpoint written with http://', () =>
    chain(b, 'chain-grpc-none', 'otlp_grpc/plain',
      `endpoint: http://127.0.0.1:${b.grpcPort}\ncompression: none\ntls: {insecure: true}\n${quick}`));
  for (const encoding of ['proto', 'json']) {
    for (const compression of ['gzip', 'zstd', 'none']) {
      const id = encoding === 'json' ? `otlp_http/${compression}` : `otlphttp/${compression}`;
      test(`${id}: OTLP/HTTP ${encoding}, compression ${compression}`, () =>
        chain(b, `chain-http-${encoding}-${compression}`, id,
          `endpoint: http://127.0.0.1:${b.httpPort}\nencoding: ${encoding}\ncompression: ${compression}\n${quick}`,
          { raw: encoding === 'proto' }));
    }
  }
  test('otlphttp with per-signal URLs used as given', () =>
    chain(b, 'chain-http-urls', 'otlphttp', `
traces_endpoint: http://127.0.0.1:${b.httpPort}/v1/traces
metrics_endpoint: http://127.0.0.1:${b.httpPort}/v1/metrics
logs_endpoint: http://127.0.0.1:${b.httpPort}/v1/logs
endpoint: http://127.0.0.1:1/never-used`));
});

describe('over TLS, the server verified with tls.ca_file', () => {
  let b, certs;
  before(async () => {
    certs = makeCerts(tempDir('ocagent-chain-certs-'));
    b = await startBackend(certs);
  });
  after(async () => {
    const r = await b.agent.stop();
    assert.equal(r.code, 0, b.agent.stderr);
  });

  test('otlp: TLS is on by default', () =>
    chain(b, 'chain-grpc-tls', 'otlp', `endpoint: localhost:${b.grpcPort}\ntls: {ca_file: ${certs.ca_crt}}`,
      { signals: ['traces'] }));
  test('otlphttp to an https:// URL', () =>
    chain(b, 'chain-http-tls', 'otlphttp', `endpoint: https://localhost:${b.httpPort}\ntls: {ca_file: ${certs.ca_crt}}`,
      { signals: ['traces', 'logs'] }));
  test('otlp without the CA refuses the server certificate, retries, and counts what is left at exit', async () => {
    const [grpcPort, metricsPort] = await freePorts(2);
    const a = new Agent(forwarderConfig({
      grpcPort, metricsPort, id: 'otlp', shutdownTimeout: '1s',
      exporter: `endpoint: localhost:${b.grpcPort}\nretry_on_failure: {initial_interval: 100ms, max_interval: 200ms}`,
    }));
    try {
      await a.started();
      await waitListening([grpcPort], a);
      const { spans } = await sendTraces('grpc', 'chain-tls-untrusted', { port: grpcPort, compression: 'none' }, false);
      await a.waitLog(/otlp\s.*sending 1 spans failed \(backend unavailable: https:\/\/localhost:\d+: SSL certificate problem/, DEADLINE);
      const c = await exporterCounters(metricsPort, 'otlp');
      assert.deepEqual([c.sent, c.failed], [0, 0], 'retried, not given up on');
      await a.stop();
      assert.match(a.stderr, new RegExp(`dropping ${spans.length} spans \\(${spans.length} batches\\) still queued`));
    } finally {
      await a.stop();
    }
  });
});

describe('config and reference', () => {
  test('ocagent components lists both exporters with their aliases', () => {
    const r = runSync(['components']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {2}otlp \(alias otlp_grpc\) \[traces, metrics, logs\]/m);
    assert.match(r.stdout, /^ {2}otlphttp \(alias otlp_http\) \[traces, metrics, logs\]/m);
  });

  test('validate names what is wrong with an exporter endpoint', () => {
    const dir = tempDir('ocagent-chain-validate-');
    const cfg = `
receivers:
  otlp:
    protocols:
      grpc:
exporters:
  otlp:
    compression: none
  otlp_grpc/b:
    endpoint: collector
  otlphttp:
    encoding: json
  otlp_http/b:
    endpoint: collector:4318
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [otlp, otlp_grpc/b, otlphttp, otlp_http/b]}
`;
    const file = path.join(dir, 'c.yaml');
    fs.writeFileSync(file, cfg);
    const r = runSync(['validate', '--config', file]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /exporters\.otlp\.endpoint: endpoint must be set/);
    assert.match(r.stderr, /exporters\.otlp_grpc\/b\.endpoint: "collector": expected host:port/);
    assert.match(r.stderr, /exporters\.otlphttp\.endpoint: endpoint \(or traces_endpoint, metrics_endpoint and logs_endpoint\) must be set/);
    assert.match(r.stderr, /exporters\.otlp_http\/b\.endpoint: "collector:4318": expected an http:\/\/ or https:\/\/ URL/);
  });
});
