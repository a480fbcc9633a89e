// The jaeger exporter against a Jaeger collector stand-in: a @grpc/grpc-js server implementing
// jaeger.api_v2.CollectorService/PostSpans from the project's own proto/jaeger schemas. Spans made
// by the OpenTelemetry JS SDK (two resources, every kind, parent/child, links, events, ERROR and
// OK status, attributes of every type the SDK has, dropped counts) go into the agent's otlp
// receiver, plus one OTLP/JSON request with bytes and map attributes; each must arrive as the
// Collector's jaeger translator maps it, compared field by field. Then TLS with a CA made by the
// openssl CLI (and gzip), a collector that answers UNAVAILABLE once (the batch is retried and
// arrives once) or INVALID_ARGUMENT (not retried), and gzip checked on the wire.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';
import zlib from 'node:zlib';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, createTraceState, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Agent, tempDir, waitFor } from './lib/agent.mjs';
import { freePorts, httpRequest, makeCerts, waitListening } from './lib/net.mjs';
import { Tee, traceExporter } from './lib/sdk.mjs';

const DEADLINE = 30000;
const PROTO_DIR = path.resolve('proto');

const pkg = grpc.loadPackageDefinition(protoLoader.loadSync('jaeger/api_v2/collector.proto', {
  includeDirs: [PROTO_DIR], keepCase: false, longs: String, enums: String, bytes: Buffer, defaults: true, oneofs: true,
}));

// A Jaeger collector stand-in. answer(call) returns null (OK) or a grpc error to send back.
async function startCollector({ creds = grpc.ServerCredentials.createInsecure(), answer = () => null } = {}) {
  const server = new grpc.Server();
  const received = [];
  let calls = 0;
  server.addService(pkg.jaeger.api_v2.CollectorService.service, {
    PostSpans(call, cb) {
      calls++;
      const err = answer(calls, call);
      if (err) return cb(err);
      received.push({ batch: call.request.batch, metadata: call.metadata.getMap() });
      return cb(null, {});
    },
  });
  const port = await new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (e, p) => (e ? reject(e) : resolve(p))));
  return { server, port, received, calls: () => calls, stop: () => new Promise((r) => server.tryShutdown(r)) };
}

function agentConfig({ grpcPort, httpPort, jaegerPort, tls = '      insecure: true', extra = '' }) {
  return `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${grpcPort}
      http:
        endpoint: 127.0.0.1:${httpPort}
exporters:
  jaeger:
    endpoint: 127.0.0.1:${jaegerPort}
    tls:
${tls}
    headers:
      X-Tenant: acme
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 200ms
${extra}
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [jaeger]
`;
}

async function startAgent(jaegerPort, opts = {}) {
  const dir = opts.dir ?? tempDir('ocagent-jaeger-');
  const [grpcPort, httpPort] = await freePorts(2);
  const agent = new Agent(agentConfig({ grpcPort, httpPort, jaegerPort, ...opts }), { dir });
  await agent.started();
  await waitListening([grpcPort, httpPort], agent);
  return { agent, grpcPort, httpPort };
}

// The typed tag a Jaeger KeyValue from proto-loader (defaults on) stands for: [key, type, value].
function tagOf(kv) {
  const v = { STRING: kv.vStr, BOOL: kv.vBool, INT64: kv.vInt64, FLOAT64: kv.vFloat64, BINARY: kv.vBinary?.toString('base64') }[kv.vType];
  return [kv.key, kv.vType, v];
}

// A JS attribute value as the SDK sends it (integral numbers as intValue) and the Collector maps it.
function expectTag(key, v) {
  if (typeof v === 'string') return [key, 'STRING', v];
  if (typeof v === 'boolean') return [key, 'BOOL', v];
  if (typeof v === 'number') return Number.isInteger(v) ? [key, 'INT64', BigInt(v).toString()] : [key, 'FLOAT64', v];
  // Arrays of primitives: Go's JSON and JavaScript's agree on everything the SDK can put in them.
  return [key, 'STRING', JSON.stringify(v)];
}

const tags = (obj) => Object.entries(obj ?? {}).map(([k, v]) => expectTag(k, v));
const hrNanos = (hr) => BigInt(hr[0]) * 1000000000n + BigInt(hr[1]);
const timestamp = (ns) => ({ seconds: (ns / 1000000000n).toString(), nanos: Number(ns % 1000000000n) });
const KIND = { [SpanKind.INTERNAL]: 'internal', [SpanKind.SERVER]: 'server', [SpanKind.CLIENT]: 'client', [SpanKind.PRODUCER]: 'producer', [SpanKind.CONSUMER]: 'consumer' };

// A finished SDK span as the Jaeger span the Collector's translator makes of it.
function expectedSpan(span) {
  const ctx = span.spanContext();
  const t = [['otel.scope.name', 'STRING', span.instrumentationScope.name]];
  if (span.instrumentationScope.version) t.push(['otel.scope.version', 'STRING', span.instrumentationScope.version]);
  t.push(...tags(span.attributes), ['span.kind', 'STRING', KIND[span.kind]]);
  if (span.status.code === SpanStatusCode.OK) t.push(['otel.status_code', 'STRING', 'OK']);
  if (span.status.code === SpanStatusCode.ERROR) t.push(['otel.status_code', 'STRING', 'ERROR'], ['error', 'BOOL', true]);
  if (span.status.message) t.push(['otel.status_description', 'STRING', span.status.message]);
  if (ctx.traceState) t.push(['w3c.tracestate', 'STRING', ctx.traceState.serialize()]);
  if (span.droppedAttributesCount) t.push(['otel.dropped_attributes_count', 'INT64', String(span.droppedAttributesCount)]);
  if (span.droppedEventsCount) t.push(['otel.dropped_events_count', 'INT64', String(span.droppedEventsCount)]);
  if (span.droppedLinksCount) t.push(['otel.dropped_links_count', 'INT64', String(span.droppedLinksCount)]);
  // The parent first (CHILD_OF); links FOLLOWS_FROM unless opentracing.ref_type says child_of; a
  // link to the parent itself only sets the parent reference's type.
  const refs = [];
  const parent = span.parentSpanContext?.spanId;
  if (parent) refs.push({ traceId: ctx.traceId, spanId: parent, refType: 'CHILD_OF' });
  for (const l of span.links) {
    const refType = l.attributes?.['opentracing.ref_type'] === 'child_of' ? 'CHILD_OF' : 'FOLLOWS_FROM';
    if (parent && l.context.traceId === ctx.traceId && l.context.spanId === parent) refs[0].refType = refType;
    else refs.push({ traceId: l.context.traceId, spanId: l.context.spanId, refType });
  }
  return {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    operationName: span.name,
    references: refs,
    flags: ctx.traceFlags & TraceFlags.SAMPLED,
    startTime: timestamp(hrNanos(span.startTime)),
    duration: timestamp(hrNanos(span.endTime) - hrNanos(span.startTime)),
    tags: t,
    logs: span.events.map((e) => ({
      timestamp: timestamp(hrNanos(e.time)),
      fields: [...(e.name && !('event' in (e.attributes ?? {})) ? [['event', 'STRING', e.name]] : []), ...tags(e.attributes)],
    })),
    process: null,
    processId: '',
    warnings: [],
  };
}

// A received Jaeger span in the shape expectedSpan() writes.
function normalSpan(s) {
  return {
    traceId: s.traceId.toString('hex'),
    spanId: s.spanId.toString('hex'),
    operationName: s.operationName,
    references: s.references.map((r) => ({ traceId: r.traceId.toString('hex'), spanId: r.spanId.toString('hex'), refType: r.refType })),
    flags: s.flags,
    startTime: s.startTime,
    duration: s.duration,
    tags: s.tags.map(tagOf),
    logs: s.logs.map((l) => ({ timestamp: l.timestamp, fields: l.fields.map(tagOf) })),
    process: s.process,
    processId: s.processId,
    warnings: s.warnings,
  };
}

const random = (n) => { let s = ''; for (let i = 0; i < n; i++) s += Math.floor(Math.random() * 16).toString(16); return s; };

// Resource A: a SERVER root with attributes of every type, events and ERROR; a CLIENT child with
// links (one remote, with attributes) and OK; INTERNAL, PRODUCER and CONSUMER grandchildren; a
// child of a remote parent that carries a trace state.
function makeSpansA(tracer) {
  const spans = [];
  const root = tracer.startSpan('root', {
    kind: SpanKind.SERVER, startTime: [1700000000, 123456789],
    attributes: {
      str: 'héllo ✓ "q" \\ \n\t', 'str.empty': '', int: 42, 'int.neg': -7, 'int.big': Number.MAX_SAFE_INTEGER, double: 3.141592653589793,
      'double.neg': -0.5, 'bool.true': true, 'bool.false': false, 'array.str': ['a', 'ü', ''], 'array.int': [1, -2],
      'array.double': [1.5, -2.25], 'array.bool': [true, false], 'array.empty': [],
    },
  });
  root.addEvent('exception', { 'exception.message': 'bad ✗', n: 7, ok: false }, [1700000000, 223456789]);
  root.addEvent('no-attributes', [1700000000, 323456789]);
  root.addEvent('renamed', { event: 'the attribute wins', x: 1.5 }, [1700000000, 423456789]);
  root.setStatus({ code: SpanStatusCode.ERROR, message: 'boom ✗' });
  const remote = { traceId: random(32), spanId: random(16), traceFlags: TraceFlags.SAMPLED, isRemote: true, traceState: createTraceState('vendor=value,other=1') };
  const child = tracer.startSpan('child', {
    kind: SpanKind.CLIENT, startTime: [1700000000, 400000000],
    links: [{ context: remote, attributes: { 'link.str': 'ü' } }, { context: root.spanContext() }],
  }, trace.setSpan(ROOT_CONTEXT, root));
  child.setStatus({ code: SpanStatusCode.OK });
  child.end([1700000000, 500000001]);
  spans.push(child);
  for (const kind of [SpanKind.INTERNAL, SpanKind.PRODUCER, SpanKind.CONSUMER]) {
    const s = tracer.startSpan(`kind-${kind}`, { kind, startTime: [1700000002, kind], attributes: { kind } }, trace.setSpan(ROOT_CONTEXT, child));
    s.end([1700000003, 999999999]);
    spans.push(s);
  }
  const fromRemote = tracer.startSpan('remote-child', { kind: SpanKind.SERVER, startTime: [1700000004, 0] }, trace.setSpanContext(ROOT_CONTEXT, remote));
  fromRemote.end([1700000004, 5]);
  spans.push(fromRemote);
  root.end([1700000001, 987654321]);
  spans.push(root);
  return spans;
}

// Resource B, with span limits so that every dropped count is non-zero.
function makeSpansB(tracer) {
  const links = [0, 1].map(() => ({ context: { traceId: random(32), spanId: random(16), traceFlags: TraceFlags.NONE } }));
  const s = tracer.startSpan('limited', { kind: SpanKind.CONSUMER, startTime: [1700000010, 1], attributes: { a: 1, b: 2, c: 3 }, links });
  s.addEvent('e1', [1700000010, 2]);
  s.addEvent('e2', [1700000010, 3]);
  s.end([1700000011, 0]);
  return [s];
}

async function sendSdkSpans(grpcPort, name, resourceAttrs, make, spanLimits) {
  const tee = new Tee(traceExporter('grpc', { port: grpcPort }));
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': name, ...resourceAttrs }),
    spanProcessors: [new SimpleSpanProcessor(tee)], ...(spanLimits ? { spanLimits } : {}),
  });
  const spans = make(provider.getTracer(`tracer-${name}`, name === 'jaeger-a' ? '0.9.1' : undefined));
  await provider.forceFlush();
  await provider.shutdown();
  assert.deepEqual(tee.failures(), [], 'the SDK reported failed exports');
  return spans;
}

// Every received span with the process of the batch it came in.
function receivedSpans(received) {
  return received.flatMap(({ batch }) => batch.spans.map((s) => ({ span: s, process: batch.process })));
}

describe('jaeger exporter', () => {
  let collector, agent, grpcPort, httpPort;
  before(async () => {
    collector = await startCollector();
    ({ agent, grpcPort, httpPort } = await startAgent(collector.port));
  });
  after(async () => {
    const exit = await agent?.stop();
    await collector?.stop();
    assert.equal(exit?.code, 0, agent?.stderr);
  });

  test('SDK spans of two resources arrive mapped as the Collector maps them', async () => {
    const resA = { 'service.version': '1.2.3-ß', 'host.cores': 2, 'deployment.production': false, 'process.command_args': ['node', '--test'], ratio: 0.25 };
    const spansA = await sendSdkSpans(grpcPort, 'jaeger-a', resA, makeSpansA);
    const spansB = await sendSdkSpans(grpcPort, 'jaeger-b', {}, makeSpansB, { attributeCountLimit: 2, eventCountLimit: 1, linkCountLimit: 1 });
    const all = [...spansA, ...spansB];
    const got = await waitFor(`${all.length} spans`, () => {
      const r = receivedSpans(collector.received);
      return r.length >= all.length && r;
    }, DEADLINE);
    assert.equal(got.length, all.length, 'no span arrives twice');
    for (const span of all) {
      const g = got.find((x) => x.span.spanId.toString('hex') === span.spanContext().spanId);
      assert.ok(g, `span ${span.name} arrived`);
      assert.deepEqual(normalSpan(g.span), expectedSpan(span), `span ${span.name}`);
      const res = span.resource.attributes;
      const want = { serviceName: res['service.name'], tags: tags(Object.fromEntries(Object.entries(res).filter(([k]) => k !== 'service.name'))) };
      assert.deepEqual({ serviceName: g.process.serviceName, tags: g.process.tags.map(tagOf) }, want, `process of ${span.name}`);
    }
    // The headers key travels as gRPC metadata (lower case).
    assert.equal(collector.received[0].metadata['x-tenant'], 'acme');
  });

  test('OTLP/JSON with bytes and map attributes and two resources: BINARY tags, Go-style JSON, one call per resource', async () => {
    const traceId = random(32), spanId = random(16), spanId2 = random(16);
    const before = collector.received.length;
    const req = {
      resourceSpans: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'jaeger-json' } }, { key: 'r.bytes', value: { bytesValue: Buffer.from([0, 1, 250, 255]).toString('base64') } }] },
        scopeSpans: [{
          scope: { name: 'raw' },
          spans: [{
            traceId, spanId, name: 'raw-span', kind: 1, startTimeUnixNano: '1700000020000000000', endTimeUnixNano: '1700000020000000500', flags: 0,
            attributes: [
              { key: 'bytes', value: { bytesValue: Buffer.from('hi!').toString('base64') } },
              { key: 'map', value: { kvlistValue: { values: [{ key: 'z', value: { intValue: '1' } }, { key: 'a', value: { kvlistValue: { values: [{ key: 'deep', value: { boolValue: true } }] } } }] } } },
              { key: 'mixed', value: { arrayValue: { values: [{ stringValue: 'x<y>&' }, { doubleValue: 1e21 }, { doubleValue: 1e-7 }, {}] } } },
            ],
          }],
        }],
      }, {
        // A second resource in the same request, without attributes: its own batch and call.
        resource: {},
        scopeSpans: [{ spans: [{ traceId, spanId: spanId2, name: 'anonymous', kind: 3, startTimeUnixNano: '5', endTimeUnixNano: '7', parentSpanId: spanId }] }],
      }],
    };
    const r = await httpRequest({ port: httpPort, path: '/v1/traces', headers: { 'content-type': 'application/json' }, body: JSON.stringify(req) });
    assert.equal(r.status, 200, r.error?.message ?? r.body?.toString());
    const g = await waitFor('the raw span', () => receivedSpans(collector.received).find((x) => x.span.spanId.toString('hex') === spanId), DEADLINE);
    assert.deepEqual(normalSpan(g.span), {
      traceId, spanId, operationName: 'raw-span', references: [], flags: 0,
      startTime: { seconds: '1700000020', nanos: 0 }, duration: { seconds: '0', nanos: 500 },
      tags: [
        ['otel.scope.name', 'STRING', 'raw'],
        ['bytes', 'BINARY', Buffer.from('hi!').toString('base64')],
        ['map', 'STRING', '{"a":{"deep":true},"z":1}'],
        ['mixed', 'STRING', '["x<y>&",1e+21,1e-7,null]'],
        ['span.kind', 'STRING', 'internal'],
      ],
      logs: [], process: null, processId: '', warnings: [],
    });
    assert.deepEqual({ serviceName: g.process.serviceName, tags: g.process.tags.map(tagOf) },
      { serviceName: 'jaeger-json', tags: [['r.bytes', 'BINARY', Buffer.from([0, 1, 250, 255]).toString('base64')]] });
    const g2 = await waitFor('the second resource', () => receivedSpans(collector.received).find((x) => x.span.spanId.toString('hex') === spanId2), DEADLINE);
    assert.deepEqual(normalSpan(g2.span), {
      traceId, spanId: spanId2, operationName: 'anonymous', references: [{ traceId, spanId, refType: 'CHILD_OF' }], flags: 0,
      startTime: { seconds: '0', nanos: 5 }, duration: { seconds: '0', nanos: 2 }, tags: [['span.kind', 'STRING', 'client']],
      logs: [], process: null, processId: '', warnings: [],
    });
    assert.deepEqual({ serviceName: g2.process.serviceName, tags: g2.process.tags }, { serviceName: 'OTLPResourceNoServiceName', tags: [] });
    // One PostSpans call per resource, each batch holding only its own resource's span.
    assert.deepEqual(collector.received.slice(before).map((r) => r.batch.spans.length), [1, 1]);
  });
});

test('jaeger exporter over TLS, verified with tls.ca_file', async () => {
  const dir = tempDir('ocagent-jaeger-tls-');
  const certs = makeCerts(dir);
  const collector = await startCollector({
    creds: grpc.ServerCredentials.createSsl(null, [{ private_key: certs.server_key_pem, cert_chain: certs.server_crt_pem }], false),
  });
  // gzip too: the grpc-js server must inflate what the agent compressed.
  const { agent, grpcPort } = await startAgent(collector.port, { dir, tls: `      ca_file: ${certs.ca_crt}`, extra: '    compression: gzip' });
  try {
    const spans = await sendSdkSpans(grpcPort, 'jaeger-tls', {}, (tracer) => {
      const s = tracer.startSpan('over-tls', { startTime: [1700000030, 0] });
      s.end([1700000030, 1000]);
      return [s];
    });
    const got = await waitFor('the span over TLS', () => receivedSpans(collector.received).length >= 1 && receivedSpans(collector.received), DEADLINE);
    assert.equal(got.length, 1);
    assert.deepEqual(normalSpan(got[0].span), expectedSpan(spans[0]));
    assert.equal(got[0].process.serviceName, 'jaeger-tls');
  } finally {
    const exit = await agent.stop();
    await collector.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(exit.code, 0, agent.stderr);
  }
});

test('UNAVAILABLE once: the batch is retried and arrives exactly once', async () => {
  const collector = await startCollector({
    answer: (n) => (n === 1 ? { code: grpc.status.UNAVAILABLE, details: 'warming up' } : null),
  });
  const { agent, grpcPort } = await startAgent(collector.port);
  let stopped = false;
  try {
    const spans = await sendSdkSpans(grpcPort, 'jaeger-retry', {}, (tracer) => {
      const s = tracer.startSpan('retried', { startTime: [1700000040, 0] });
      s.end([1700000040, 1]);
      return [s];
    });
    await waitFor('the retried span', () => collector.received.length >= 1, DEADLINE);
    // Stopping drains the agent's queue, so a second delivery would have happened by now.
    const exit = await agent.stop();
    stopped = true;
    assert.equal(exit.code, 0, agent.stderr);
    assert.equal(collector.calls(), 2, 'one refused call, one retry');
    const got = receivedSpans(collector.received);
    assert.equal(got.length, 1, 'the span arrives exactly once');
    assert.deepEqual(normalSpan(got[0].span), expectedSpan(spans[0]));
  } finally {
    if (!stopped) await agent.stop();
    await collector.stop();
  }
});

test('INVALID_ARGUMENT is permanent: not retried, logged with the collector\'s message', async () => {
  const collector = await startCollector({ answer: () => ({ code: grpc.status.INVALID_ARGUMENT, details: 'bad batch from test' }) });
  const { agent, grpcPort } = await startAgent(collector.port);
  try {
    await sendSdkSpans(grpcPort, 'jaeger-refused', {}, (tracer) => {
      const s = tracer.startSpan('refused');
      s.end();
      return [s];
    });
    await agent.waitLog(/dropping 1 span.*bad batch from test/, DEADLINE);
  } finally {
    const exit = await agent.stop();
    await collector.stop();
    assert.equal(exit.code, 0, agent.stderr);
  }
  assert.equal(collector.calls(), 1, 'a permanent error is not retried');
  assert.equal(collector.received.length, 0);
});

// grpc-js inflates gzip without telling the handler, so the wire is checked with a bare HTTP/2
// server speaking gRPC: the request must say grpc-encoding: gzip and carry a compressed message.
test('compression: gzip sends compressed gRPC messages', async () => {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => path.join(PROTO_DIR, target);
  root.loadSync('jaeger/api_v2/collector.proto');
  const PostSpansRequest = root.lookupType('jaeger.api_v2.PostSpansRequest');
  const seen = [];
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      const compressed = body[0] === 1, len = body.readUInt32BE(1);
      const msg = body.subarray(5, 5 + len);
      const req = PostSpansRequest.decode(compressed ? zlib.gunzipSync(msg) : msg);
      seen.push({ path: headers[':path'], encoding: headers['grpc-encoding'], compressed, req });
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { agent, grpcPort } = await startAgent(server.address().port, { extra: '    compression: gzip' });
  try {
    await sendSdkSpans(grpcPort, 'jaeger-gzip', {}, (tracer) => {
      const s = tracer.startSpan('zipped', { attributes: { big: 'x'.repeat(2000) } });
      s.end();
      return [s];
    });
    await waitFor('the compressed call', () => seen.length >= 1, DEADLINE);
  } finally {
    const exit = await agent.stop();
    await new Promise((r) => server.close(r));
    assert.equal(exit.code, 0, agent.stderr);
  }
  assert.equal(seen[0].path, '/jaeger.api_v2.CollectorService/PostSpans');
  assert.equal(seen[0].encoding, 'gzip');
  assert.equal(seen[0].compressed, true, 'the message has the compressed flag');
  assert.equal(seen[0].req.batch.process.serviceName, 'jaeger-gzip');
  assert.equal(seen[0].req.batch.spans[0].operationName, 'zipped');
});
