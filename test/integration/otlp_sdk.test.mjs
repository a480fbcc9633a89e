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
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, ValueType, createTraceState, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AggregationType, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { Agent, readJsonLines, tempDir, waitFor } from './lib/agent.mjs';
import { flatten, flattenPoints } from './lib/otlp.mjs';
import { freePorts, makeCerts, waitListening } from './lib/net.mjs';
import {
  AggregationTemporalityPreference, TRANSPORTS, Tee, dropEmptyMessages, expectedLog, expectedPoints, expectedResource,
  expectedScope, expectedSpan, logExporter, metricExporter, traceExporter,
} from './lib/sdk.mjs';

// ASan builds are several times slower; every wait has a deadline, none is a sleep.
const DEADLINE = 30000;

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

// Attribute values of every type the SDK's span attributes accept. Over http/json the SDK writes
// integers as JavaScript prints them, so -(2**63) (printed as -9223372036854776000, outside int64)
// travels only over protobuf; 2**62 and 2**63-1024 travel over JSON as the decimals JS prints.
// The largest double also travels only over protobuf: for JSON the SDK calls every integral number
// an intValue (1.7976931348623157e+308 included), which the agent rightly refuses with a 400.
function richAttributes(tag, json) {
  return {
    'str': `héllo wörld ✓ 日本語 🚀 ${tag} "quoted" \\ \n\t`,
    'str.empty': '',
    'int.max_safe': Number.MAX_SAFE_INTEGER,
    'int.min_safe': Number.MIN_SAFE_INTEGER,
    'int.zero': 0,
    'int.2pow62': 2 ** 62,
    'int.near_max': 2 ** 63 - 1024,
    ...(json ? {} : { 'int.min': -(2 ** 63), 'double.huge': 1.7976931348623157e308 }),
    'double': 3.141592653589793,
    'double.tiny': 5e-324,
    'double.neg': -0.5,
    'bool.true': true,
    'bool.false': false,
    'array.str': ['a', 'ü', ''],
    'array.int': [1, -2, Number.MAX_SAFE_INTEGER],
    'array.double': [1.5, -2.25],
    'array.bool': [true, false],
    'array.empty': [],
  };
}

function resourceFor(tag, signal) {
  return resourceFromAttributes({
    'service.name': `sdk-${tag}-${signal}`,
    'service.version': '1.2.3-ß',
    'host.cores': 2,
    'deployment.production': false,
    'process.command_args': ['node', '--test'],
  });
}

const random = (n) => { let s = ''; for (let i = 0; i < n; i++) s += Math.floor(Math.random() * 16).toString(16); return s; };

// Spans of every kind, parent/child, a child of a remote parent (with trace state), status ERROR
// with a message and OK, events with attributes, links to local and remote spans.
function makeSpans(tracer, tag, json) {
  const spans = [];
  const root = tracer.startSpan(`root-${tag}`, { kind: SpanKind.SERVER, startTime: [1700000000, 123456789], attributes: richAttributes(tag, json) });
  root.addEvent('exception', { 'exception.message': 'bad ✗', 'exception.escaped': false, 'n': 7 }, [1700000000, 223456789]);
  root.addEvent('no-attributes', [1700000000, 323456789]);
  root.setStatus({ code: SpanStatusCode.ERROR, message: 'boom ✗ "quoted"' });
  const remote = { traceId: random(32), spanId: random(16), traceFlags: TraceFlags.SAMPLED, isRemote: true, traceState: createTraceState('vendor=value,other=1') };
  const child = tracer.startSpan(`child-${tag}`, {
    kind: SpanKind.CLIENT, startTime: [1700000000, 400000000],
    links: [{ context: remote, attributes: { 'link.str': 'ü', 'link.int': -1, 'link.arr': [1.5] } }, { context: root.spanContext() }],
  }, trace.setSpan(ROOT_CONTEXT, root));
  child.setStatus({ code: SpanStatusCode.OK });
  child.end([1700000000, 500000001]);
  spans.push(child);
  for (const kind of [SpanKind.INTERNAL, SpanKind.PRODUCER, SpanKind.CONSUMER]) {
    const s = tracer.startSpan(`kind-${kind}-${tag}`, { kind, startTime: [1700000002, kind], attributes: { kind } }, trace.setSpan(ROOT_CONTEXT, child));
    s.end([1700000003, 999999999]);
    spans.push(s);
  }
  const fromRemote = tracer.startSpan(`remote-child-${tag}`, { kind: SpanKind.SERVER }, trace.setSpanContext(ROOT_CONTEXT, remote));
  fromRemote.end();
  spans.push(fromRemote);
  root.end([1700000001, 987654321]);
  spans.push(root);
  return spans;
}

async function sendTraces(transport, tag, opts, json) {
  const tee = new Tee(traceExporter(transport, opts));
  // Simple for uncompressed cases (one request per span), batch for gzip (one request for all).
  const processor = opts.compression === 'gzip'
    ? new BatchSpanProcessor(tee, { scheduledDelayMillis: 60000 })
    : new SimpleSpanProcessor(tee);
  const provider = new BasicTracerProvider({ resource: resourceFor(tag, 'traces'), spanProcessors: [processor] });
  const tracer = provider.getTracer(`tracer-${tag}`, '0.9.1', { schemaUrl: 'https://opentelemetry.io/schemas/1.24.0' });
  const spans = makeSpans(tracer, tag, json);
  await provider.forceFlush();
  await provider.shutdown();
  assert.deepEqual(tee.failures(), [], 'the SDK reported failed exports');
  return { spans, tee };
}

async function sendLogs(transport, tag, opts, json) {
  const tee = new Tee(logExporter(transport, opts));
  const provider = new LoggerProvider({ resource: resourceFor(tag, 'logs'), processors: [new SimpleLogRecordProcessor({ exporter: tee })] });
  const logger = provider.getLogger(`logger-${tag}`, '3.0.0');
  const span = trace.wrapSpanContext({ traceId: random(32), spanId: random(16), traceFlags: TraceFlags.SAMPLED });
  const ctx = trace.setSpan(ROOT_CONTEXT, span);
  logger.emit({
    timestamp: [1700000000, 1], observedTimestamp: [1700000000, 2], severityNumber: SeverityNumber.INFO, severityText: 'INFO',
    body: `log ✓ ${tag} ünïcödé`, attributes: { ...richAttributes(tag, json), 'bytes': new Uint8Array([0, 1, 2, 250, 255]), 'map': { inner: { deep: true, n: 3 }, list: ['x', 1] } },
    context: ctx,
  });
  logger.emit({ timestamp: [1700000000, 3], severityNumber: SeverityNumber.ERROR, severityText: 'ERROR', body: new Uint8Array([222, 173, 190, 239]), context: ROOT_CONTEXT });
  logger.emit({
    timestamp: [1700000000, 4], severityNumber: SeverityNumber.FATAL4, eventName: 'app.event',
    body: { msg: 'structured', n: -42, ratio: 0.25, ok: true, list: ['a', { nested: 'ß' }], empty: {} }, context: ROOT_CONTEXT,
  });
  logger.emit({ attributes: { only: 'attributes' }, context: ROOT_CONTEXT });
  await provider.forceFlush();
  await provider.shutdown();
  assert.deepEqual(tee.failures(), [], 'the SDK reported failed exports');
  return tee.items;
}

// A counter (int), a counter (double), an up-down counter, a histogram with explicit bounds, an
// exponential histogram (by view), observable gauges (int and double) and a synchronous gauge.
function recordMetrics(meter) {
  const attrs = { route: '/ü', ok: true, code: 200, ratio: 0.5, tags: ['a', 'b'] };
  const c = meter.createCounter('requests', { description: 'requests served', unit: '{request}', valueType: ValueType.INT });
  c.add(5, attrs);
  c.add(7, { route: '/b' });
  meter.createCounter('bytes', { unit: 'By' }).add(1.5, attrs);
  const ud = meter.createUpDownCounter('queue.length', { valueType: ValueType.INT });
  ud.add(10);
  ud.add(-3);
  const h = meter.createHistogram('latency', { unit: 'ms', advice: { explicitBucketBoundaries: [1, 10, 100] } });
  for (const v of [0.5, 5, 50, 500, 7]) h.record(v, attrs);
  const e = meter.createHistogram('latency.exp', { unit: 's' });
  for (const v of [0.001, 0.5, 1, 2, 2, 4096]) e.record(v);
  meter.createObservableGauge('temperature', { unit: 'Cel', description: 'température' }).addCallback((o) => {
    o.observe(21.5, { room: 'a' });
    o.observe(-4.25, { room: 'b' });
  });
  meter.createObservableGauge('threads', { valueType: ValueType.INT }).addCallback((o) => o.observe(Number.MAX_SAFE_INTEGER));
  meter.createGauge('last.value').record(99.9, { k: 'v' });
}

async function sendMetrics(transport, tag, opts) {
  const out = [];
  for (const [name, pref] of [['cumulative', AggregationTemporalityPreference.CUMULATIVE], ['delta', AggregationTemporalityPreference.DELTA]]) {
    const tee = new Tee(metricExporter(transport, opts, pref));
    const reader = new PeriodicExportingMetricReader({ exporter: tee, exportIntervalMillis: 3600000, exportTimeoutMillis: DEADLINE });
    const provider = new MeterProvider({
      resource: resourceFor(`${tag}-${name}`, 'metrics'), readers: [reader],
      views: [{ instrumentName: 'latency.exp', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
    });
    recordMetrics(provider.getMeter(`meter-${tag}`, '1.0.0'));
    await reader.forceFlush();
    await provider.shutdown();
    assert.deepEqual(tee.failures(), [], 'the SDK reported failed exports');
    out.push(...tee.items);
  }
  return out;
}

// Output items whose resource has this service.name.
function byService(items, name) {
  return items.filter((x) => x.resource?.attributes?.some((a) => a.key === 'service.name' && a.value.stringValue === name));
}

const canon = (v) => (Array.isArray(v) ? v.map(canon) : v && typeof v === 'object'
  ? Object.fromEntries(Object.keys(v).sort().filter((k) => v[k] !== undefined).map((k) => [k, canon(v[k])])) : v);
const key = (x) => JSON.stringify(canon(dropEmptyMessages(x)));

async function checkTraces(out, tag, spans, json) {
  const svc = `sdk-${tag}-traces`;
  const got = await waitFor(`${spans.length} spans of ${svc}`, () => {
    const items = byService(flatten(readJsonLines(out)), svc);
    return items.length >= spans.length && items;
  }, DEADLINE);
  assert.equal(got.length, spans.length, 'no span arrives twice');
  for (const span of spans) {
    const g = got.find((x) => x.item.spanId === span.spanContext().spanId);
    assert.ok(g, `span ${span.name} (${span.spanContext().spanId}) arrived`);
    assert.deepEqual(dropEmptyMessages(g.item), dropEmptyMessages(expectedSpan(span, json)), `span ${span.name}`);
    assert.deepEqual(g.resource, expectedResource(span.resource, json));
    assert.deepEqual(g.scope, expectedScope(span.instrumentationScope));
    assert.equal(g.scopeSchemaUrl, 'https://opentelemetry.io/schemas/1.24.0');
  }
}

async function checkLogs(out, tag, records, json) {
  const svc = `sdk-${tag}-logs`;
  const got = await waitFor(`${records.length} log records of ${svc}`, () => {
    const items = byService(flatten(readJsonLines(out)), svc);
    return items.length >= records.length && items;
  }, DEADLINE);
  assert.equal(got.length, records.length, 'no log record arrives twice');
  assert.deepEqual(got.map((x) => key(x.item)).sort(), records.map((r) => key(expectedLog(r, json))).sort());
  for (const g of got) {
    assert.deepEqual(g.resource, expectedResource(records[0].resource, json));
    assert.deepEqual(g.scope, expectedScope(records[0].instrumentationScope));
  }
}

async function checkMetrics(out, tag, collected, json) {
  const want = collected.flatMap((rm) => expectedPoints(rm, json));
  const svcs = new Set(want.map((p) => p.resource.attributes.find((a) => a.key === 'service.name').value.stringValue));
  const got = await waitFor(`${want.length} data points of ${tag}`, () => {
    const pts = flattenPoints(readJsonLines(out)).filter((p) => p.resource?.attributes?.some((a) => a.key === 'service.name' && svcs.has(a.value.stringValue)));
    return pts.length >= want.length && pts;
  }, DEADLINE);
  assert.deepEqual(got.map(key).sort(), want.map(key).sort());
  // Both temporalities really travelled: delta counters and cumulative ones.
  const temps = new Set(got.filter((p) => p.metric.name === 'requests').map((p) => p.metric.aggregationTemporality));
  assert.deepEqual([...temps].sort(), [1, 2]);
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
