// The official OpenTelemetry JS SDK exporters against the otlp receiver: traces, metrics and logs
// over grpc, http/protobuf and http/json, with and without gzip, then over TLS (with a CA and
// certificates made by the openssl CLI) and mTLS. Every span, data point and log record the SDK
// handed its exporter must come out of the file exporter with its ids, timestamps, kinds, status,
// events, links and attributes of every type intact.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import path from 'node:path';
import zlib from 'node:zlib';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Agent, readJsonLines, tempDir, waitFor } from './lib/agent.mjs';
import { flatten } from './lib/otlp.mjs';
import { freePorts, makeCerts, waitListening } from './lib/net.mjs';
import { TRANSPORTS, Tee, traceExporter } from './lib/sdk.mjs';
import { DEADLINE, checkLogs, checkMetrics, checkTraces, sendLogs, sendMetrics, sendTraces } from './lib/sdk_scenarios.mjs';

function agentConfig(dir, { grpcPort, httpPort, metricsPort, grpcExtra = '', httpExtra = '' }) {
  return `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${grpcPort}${grpcExtra}
      http:
        endpoint: 127.0.0.1:${httpPort}${httpExtra}
exporters:
  file:
    path: ${dir}/out.jsonl
    flush_interval: 0s
service:
  telemetry:
    metrics:
      address: 127.0.0.1:${metricsPort}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file]
    metrics:
      receivers: [otlp]
      exporters: [file]
    logs:
      receivers: [otlp]
      exporters: [file]
`;
}

async function startAgent(extra = {}) {
  const dir = tempDir('ocagent-sdk-');
  const [grpcPort, httpPort, metricsPort] = await freePorts(3);
  const agent = new Agent(agentConfig(dir, { grpcPort, httpPort, metricsPort, ...extra }), { dir });
  await agent.started();
  await waitListening([grpcPort, httpPort], agent);
  return { agent, dir, grpcPort, httpPort, out: path.join(dir, 'out.jsonl') };
}

describe('SDK exporters over every transport, with and without gzip', () => {
  let ctx;
  before(async () => { ctx = await startAgent(); });
  after(async () => {
    const r = await ctx.agent.stop();
    assert.equal(r.code, 0, ctx.agent.stderr);
  });

  for (const transport of TRANSPORTS) {
    for (const compression of ['none', 'gzip']) {
      const json = transport === 'http/json';
      const tag = `${transport.replace('/', '-')}-${compression}`;
      const opts = () => ({ port: transport === 'grpc' ? ctx.grpcPort : ctx.httpPort, compression });
      test(`traces ${transport} ${compression}`, async () => {
        const { spans, tee } = await sendTraces(transport, tag, opts(), json);
        assert.equal(tee.items.length, spans.length);
        await checkTraces(ctx.out, tag, spans, json);
      });
      test(`metrics ${transport} ${compression}`, async () => {
        const collected = await sendMetrics(transport, tag, opts());
        await checkMetrics(ctx.out, tag, collected, json);
      });
      test(`logs ${transport} ${compression}`, async () => {
        const records = await sendLogs(transport, tag, opts(), json);
        await checkLogs(ctx.out, tag, records, json);
      });
    }
  }

  test('other clients: curl (HTTP/1.1, h2c prior knowledge, gzip, deflate, 100-continue) and nghttp (h2c)', async () => {
    const dir = tempDir('ocagent-curl-');
    const send = (args, body) => {
      fs.writeFileSync(path.join(dir, 'body'), body);
      const r = spawnSync('curl', ['-sS', '-v', '-o', path.join(dir, 'resp'), '-w', '%{http_code} %{http_version}', '-X', 'POST',
        ...args, '--data-binary', `@${path.join(dir, 'body')}`], { encoding: 'utf8', timeout: DEADLINE });
      assert.equal(r.status, 0, r.stderr);
      const [status, version] = r.stdout.split(' ');
      return { status, version, body: fs.readFileSync(path.join(dir, 'resp'), 'utf8'), log: r.stderr };
    };
    const req = (name) => JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'curl' } }] },
      scopeSpans: [{ spans: [{ traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name, kind: 2 }] }] }] });
    const url = `http://127.0.0.1:${ctx.httpPort}/v1/traces`;
    const json = ['-H', 'Content-Type: application/json'];
    let r = send(['--http1.1', ...json, url], req('curl-h1'));
    assert.deepEqual([r.status, r.version], ['200', '1.1'], r.body);
    assert.match(r.body, /^\{/, 'a JSON request gets a JSON ExportTraceServiceResponse');
    r = send(['--http2-prior-knowledge', ...json, url], req('curl-h2c'));
    assert.deepEqual([r.status, r.version], ['200', '2'], r.body);
    r = send(['--http1.1', ...json, '-H', 'Content-Encoding: gzip', url], zlib.gzipSync(req('curl-gzip')));
    assert.equal(r.status, '200', r.body);
    r = send(['--http1.1', ...json, '-H', 'Content-Encoding: deflate', url], zlib.deflateSync(req('curl-deflate')));
    assert.equal(r.status, '200', r.body);
    r = send(['--http1.1', ...json, '-H', 'Expect: 100-continue', url], req('curl-expect').padEnd(4096, ' '));
    assert.equal(r.status, '200', r.body);
    assert.match(r.log, /< HTTP\/1\.1 100 Continue/, 'the agent answered Expect: 100-continue');
    fs.writeFileSync(path.join(dir, 'nghttp-body'), req('nghttp-h2c'));
    const ng = execFileSync('nghttp', ['-v', '-d', path.join(dir, 'nghttp-body'), '-H', 'content-type: application/json', url], { encoding: 'utf8', timeout: DEADLINE });
    assert.match(ng, /:status: 200/);
    await waitFor('the curl and nghttp spans', () => {
      const names = new Set(flatten(readJsonLines(ctx.out)).map((x) => x.item.name));
      return ['curl-h1', 'curl-h2c', 'curl-gzip', 'curl-deflate', 'curl-expect', 'nghttp-h2c'].every((n) => names.has(n));
    }, DEADLINE);
  });
});

describe('TLS', () => {
  let certs;
  before(() => { certs = makeCerts(tempDir('ocagent-certs-')); });

  const tlsBlock = (c, mtls) => `
        tls:
          cert_file: ${c.server_crt}
          key_file: ${c.server_key}${mtls ? `\n          client_ca_file: ${c.ca_crt}` : ''}`;

  test('SDK exporters deliver over TLS (gRPC h2 by ALPN, HTTP/1.1) with the test CA', async () => {
    const ctx = await startAgent({ grpcExtra: tlsBlock(certs, false), httpExtra: tlsBlock(certs, false) });
    try {
      for (const transport of TRANSPORTS) {
        const tag = `tls-${transport.replace('/', '-')}`;
        const json = transport === 'http/json';
        const opts = { host: 'localhost', port: transport === 'grpc' ? ctx.grpcPort : ctx.httpPort, compression: 'gzip', tls: { ca: certs.ca_crt_pem } };
        const { spans } = await sendTraces(transport, tag, opts, json);
        await checkTraces(ctx.out, tag, spans, json);
        const records = await sendLogs(transport, tag, opts, json);
        await checkLogs(ctx.out, tag, records, json);
      }
      // curl over TLS: h2 chosen by ALPN, and HTTP/1.1.
      for (const [flag, version] of [['--http2', '2'], ['--http1.1', '1.1']]) {
        const out = execFileSync('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{http_version}', '--cacert', certs.ca_crt, flag,
          '-H', 'Content-Type: application/json', '--data-binary', JSON.stringify({ resourceSpans: [] }),
          `https://localhost:${ctx.httpPort}/v1/traces`], { encoding: 'utf8', timeout: DEADLINE });
        assert.equal(out, `200 ${version}`);
      }
      // A plaintext client on the TLS port is not served.
      const tee = new Tee(traceExporter('http/protobuf', { port: ctx.httpPort, timeoutMillis: 2000 }));
      const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(tee)] });
      provider.getTracer('t').startSpan('plaintext').end();
      await provider.forceFlush().catch(() => {}); // rejects with the export error checked below
      await provider.shutdown();
      assert.equal(tee.failures().length, 1, 'a plaintext request to the TLS port failed');
    } finally {
      assert.equal((await ctx.agent.stop()).code, 0, ctx.agent.stderr);
    }
  });

  test('min_version 1.3 refuses a TLS 1.2 client; ALPN offers h2 and http/1.1', async () => {
    const ctx = await startAgent({ httpExtra: `${tlsBlock(certs, false)}\n          min_version: "1.3"` });
    const handshake = (opts) => new Promise((resolve) => {
      const sock = tls.connect({ host: '127.0.0.1', servername: 'localhost', port: ctx.httpPort, ca: certs.ca_crt_pem, ...opts }, () => {
        const r = { version: sock.getProtocol(), alpn: sock.alpnProtocol };
        sock.end();
        resolve(r);
      });
      sock.on('error', (e) => resolve({ error: e.code ?? e.message }));
    });
    try {
      const old = await handshake({ maxVersion: 'TLSv1.2' });
      assert.ok(old.error, `a TLS 1.2 client was refused (${JSON.stringify(old)})`);
      assert.deepEqual(await handshake({ ALPNProtocols: ['h2', 'http/1.1'] }), { version: 'TLSv1.3', alpn: 'h2' });
      assert.deepEqual(await handshake({ ALPNProtocols: ['http/1.1'] }), { version: 'TLSv1.3', alpn: 'http/1.1' });
    } finally {
      assert.equal((await ctx.agent.stop()).code, 0, ctx.agent.stderr);
    }
  });

  test('mTLS: a client without a certificate is refused, one with a certificate is served', async () => {
    const ctx = await startAgent({ grpcExtra: tlsBlock(certs, true), httpExtra: tlsBlock(certs, true) });
    try {
      // Without a client certificate: the handshake (or the first read after it) fails.
      const noCert = await new Promise((resolve) => {
        const req = https.request({ host: 'localhost', port: ctx.httpPort, method: 'POST', path: '/v1/traces', ca: certs.ca_crt_pem, agent: false,
          headers: { 'content-type': 'application/json' } }, (res) => resolve({ status: res.statusCode }));
        req.on('error', (e) => resolve({ error: e }));
        req.end('{}');
      });
      assert.ok(noCert.error, `an HTTPS client without a certificate got ${JSON.stringify(noCert)}`);
      for (const transport of ['grpc', 'http/json']) {
        const tee = new Tee(traceExporter(transport, { host: 'localhost', port: transport === 'grpc' ? ctx.grpcPort : ctx.httpPort, timeoutMillis: 3000, tls: { ca: certs.ca_crt_pem } }));
        const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(tee)] });
        provider.getTracer('t').startSpan('no-client-cert').end();
        await provider.forceFlush().catch(() => {}); // rejects with the export error checked below
        await provider.shutdown();
        assert.equal(tee.failures().length, 1, `${transport}: the export without a client certificate failed`);
      }
      // With the client certificate every transport delivers.
      for (const transport of TRANSPORTS) {
        const tag = `mtls-${transport.replace('/', '-')}`;
        const json = transport === 'http/json';
        const opts = { host: 'localhost', port: transport === 'grpc' ? ctx.grpcPort : ctx.httpPort, tls: { ca: certs.ca_crt_pem, cert: certs.client_crt_pem, key: certs.client_key_pem } };
        const { spans } = await sendTraces(transport, tag, opts, json);
        await checkTraces(ctx.out, tag, spans, json);
      }
      assert.ok(!flatten(readJsonLines(ctx.out)).some((x) => x.item.name === 'no-client-cert'), 'nothing from the clients without a certificate arrived');
    } finally {
      assert.equal((await ctx.agent.stop()).code, 0, ctx.agent.stderr);
    }
  });
});
