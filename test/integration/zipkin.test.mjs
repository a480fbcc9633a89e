// The zipkin exporter end to end: the OpenTelemetry JS SDK sends spans (every kind, parent/child,
// a remote parent with trace state, attributes of every type, events, links, status error and ok,
// peer and host address attributes) to the agent's otlp receiver; the zipkin exporter posts them to
// a Node HTTP server standing in for Zipkin. That backend checks every span it receives against the
// rules of Zipkin's v2 API (written out below, not read from anywhere), and the test derives from
// the SDK's own span objects what each span must look like in Zipkin, by the Collector's mapping,
// and compares field by field: JSON first, then proto3 (decoded with protobufjs and the project's
// zipkin.proto) gzip-compressed, then over https with mutual TLS. Finally a backend answering 400
// shows up as send_failed spans.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, createTraceState, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Agent, tempDir, waitFor } from './lib/agent.mjs';
import { freePorts, httpRequest, makeCerts, parseProm, promSum, waitListening } from './lib/net.mjs';
import { Tee, nanos, traceExporter } from './lib/sdk.mjs';

// ASan builds are several times slower; every wait has a deadline, none is a sleep.
const DEADLINE = 30000;
const DEFAULT_SERVICE = 'Fallback-Svc';

// ---- Zipkin v2 API rules (zipkin2-api.yaml, definitions Span, Endpoint, Annotation, Tags) ----

const HEX16 = /^[a-f0-9]{16}$/;
const TRACE_ID = /^[a-f0-9]{16}([a-f0-9]{16})?$/;
const KINDS = ['CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER'];
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function checkEndpoint(e, where, errs, lowerCase) {
  if (!isObject(e)) return errs.push(`${where} is not an object`);
  for (const k of Object.keys(e)) if (!['serviceName', 'ipv4', 'ipv6', 'port'].includes(k)) errs.push(`${where}.${k} is not an Endpoint field`);
  if (Object.keys(e).length === 0) errs.push(`${where} is empty`);
  if ('serviceName' in e) {
    if (typeof e.serviceName !== 'string') errs.push(`${where}.serviceName is not a string`);
    else if (lowerCase && e.serviceName !== e.serviceName.toLowerCase()) errs.push(`${where}.serviceName is not lower case`);
  }
  if ('ipv4' in e && !net.isIPv4(e.ipv4)) errs.push(`${where}.ipv4 ${e.ipv4} is not an IPv4 address`);
  if ('ipv6' in e && !net.isIPv6(e.ipv6)) errs.push(`${where}.ipv6 ${e.ipv6} is not an IPv6 address`);
  if ('port' in e && !(Number.isInteger(e.port) && e.port >= 1 && e.port <= 65535)) errs.push(`${where}.port ${e.port} is not a port (absent if unknown, never 0)`);
}

// The problems of one span as the v2 API defines it; [] when it conforms. lowerCase: the JSON API
// asks for lower-case span and service names.
function zipkinSpanErrors(s, lowerCase = true) {
  const errs = [];
  if (!isObject(s)) return ['a span is not an object'];
  const fields = ['traceId', 'name', 'parentId', 'id', 'kind', 'timestamp', 'duration', 'debug', 'shared',
    'localEndpoint', 'remoteEndpoint', 'annotations', 'tags'];
  for (const k of Object.keys(s)) if (!fields.includes(k)) errs.push(`${k} is not a Span field`);
  if (typeof s.traceId !== 'string' || !TRACE_ID.test(s.traceId)) errs.push(`traceId ${s.traceId} is not 16 or 32 lower-case hex`);
  if (typeof s.id !== 'string' || !HEX16.test(s.id)) errs.push(`id ${s.id} is not 16 lower-case hex`);
  if ('parentId' in s && (typeof s.parentId !== 'string' || !HEX16.test(s.parentId))) errs.push(`parentId ${s.parentId} is not 16 lower-case hex`);
  if ('name' in s) {
    if (typeof s.name !== 'string') errs.push('name is not a string');
    else if (lowerCase && s.name !== s.name.toLowerCase()) errs.push(`name ${s.name} is not lower case`);
  }
  if ('kind' in s && !KINDS.includes(s.kind)) errs.push(`kind ${s.kind} is not one of ${KINDS}`);
  if ('timestamp' in s && !(Number.isSafeInteger(s.timestamp) && s.timestamp > 0)) errs.push(`timestamp ${s.timestamp} is not epoch microseconds`);
  if ('duration' in s && !(Number.isSafeInteger(s.duration) && s.duration >= 1)) errs.push(`duration ${s.duration} is not an integer >= 1`);
  for (const b of ['debug', 'shared']) if (b in s && typeof s[b] !== 'boolean') errs.push(`${b} is not a boolean`);
  for (const e of ['localEndpoint', 'remoteEndpoint']) if (e in s) checkEndpoint(s[e], e, errs, lowerCase);
  if ('annotations' in s) {
    if (!Array.isArray(s.annotations)) errs.push('annotations is not an array');
    else {
      const seen = new Set();
      for (const [i, a] of s.annotations.entries()) {
        if (!isObject(a)) { errs.push(`annotations[${i}] is not an object`); continue; }
        for (const k of Object.keys(a)) if (!['timestamp', 'value'].includes(k)) errs.push(`annotations[${i}].${k} is not an Annotation field`);
        if (!Number.isSafeInteger(a.timestamp)) errs.push(`annotations[${i}].timestamp is not an integer`);
        if (typeof a.value !== 'string') errs.push(`annotations[${i}].value is not a string`);
        const key = JSON.stringify([a.timestamp, a.value]);
        if (seen.has(key)) errs.push(`annotations[${i}] repeats an earlier one (uniqueItems)`);
        seen.add(key);
      }
    }
  }
  if ('tags' in s) {
    if (!isObject(s.tags)) errs.push('tags is not an object');
    else for (const [k, v] of Object.entries(s.tags)) if (typeof v !== 'string') errs.push(`tag ${k} is not a string`);
  }
  return errs;
}

// ---- proto3: ListOfSpans decoded, checked for the wire shapes, and put in the JSON model's shape ----

const ZIPKIN_PROTO = fileURLToPath(new URL('../../proto/zipkin/zipkin.proto', import.meta.url));
const ListOfSpans = protobuf.loadSync(ZIPKIN_PROTO).lookupType('zipkin.proto3.ListOfSpans');
const PROTO_KINDS = [undefined, 'CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER'];

function protoEndpoint(e, where, errs) {
  if (!e) return undefined;
  const out = {};
  if (e.serviceName) out.serviceName = e.serviceName;
  if (e.ipv4?.length) {
    if (e.ipv4.length !== 4) errs.push(`${where}.ipv4 has ${e.ipv4.length} bytes, not 4`);
    out.ipv4 = [...e.ipv4].join('.');
  }
  if (e.ipv6?.length) {
    if (e.ipv6.length !== 16) errs.push(`${where}.ipv6 has ${e.ipv6.length} bytes, not 16`);
    out.ipv6 = Buffer.from(e.ipv6).toString('hex').match(/..../g).join(':');
  }
  if (e.port) out.port = e.port;
  return out;
}

function protoSpans(body, errs) {
  const list = ListOfSpans.toObject(ListOfSpans.decode(body), { longs: Number, enums: Number, defaults: false });
  return (list.spans ?? []).map((s, i) => {
    const hex = (b) => Buffer.from(b).toString('hex');
    if (s.traceId?.length !== 16 && s.traceId?.length !== 8) errs.push(`span ${i}: trace_id has ${s.traceId?.length} bytes`);
    if (s.id?.length !== 8) errs.push(`span ${i}: id has ${s.id?.length} bytes`);
    if (s.parentId && s.parentId.length !== 8) errs.push(`span ${i}: parent_id has ${s.parentId.length} bytes`);
    if (s.kind !== undefined && !(s.kind >= 0 && s.kind <= 4)) errs.push(`span ${i}: kind ${s.kind} is not in the enum`);
    const m = { traceId: hex(s.traceId ?? []), id: hex(s.id ?? []) };
    if (s.parentId?.length) m.parentId = hex(s.parentId);
    if (s.name) m.name = s.name;
    if (PROTO_KINDS[s.kind ?? 0]) m.kind = PROTO_KINDS[s.kind];
    if (s.timestamp) m.timestamp = s.timestamp;
    if (s.duration) m.duration = s.duration;
    const le = protoEndpoint(s.localEndpoint, 'local_endpoint', errs);
    const re = protoEndpoint(s.remoteEndpoint, 'remote_endpoint', errs);
    if (le) m.localEndpoint = le;
    if (re) m.remoteEndpoint = re;
    if (s.annotations?.length) m.annotations = s.annotations.map((a) => ({ timestamp: a.timestamp ?? 0, value: a.value ?? '' }));
    if (s.tags && Object.keys(s.tags).length) m.tags = s.tags;
    if (s.debug) m.debug = true;
    if (s.shared) m.shared = true;
    return m;
  });
}

// ---- the stand-in Zipkin server ----

class ZipkinBackend {
  constructor() {
    this.requests = [];     // { method, url, httpVersion, headers, clientCN }
    this.spans = [];        // every span received, in the JSON model's shape
    this.errors = [];       // rule violations, with the span they were found in
    this.status = 202;      // what Zipkin answers a good POST with
  }

  // tls: options for https.createServer (key, cert, ca, requestCert ...); plain HTTP without.
  async start(tls) {
    const handler = (req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const clientCN = req.socket.getPeerCertificate?.()?.subject?.CN;
        this.requests.push({ method: req.method, url: req.url, httpVersion: req.httpVersion, headers: req.headers, clientCN });
        let status = this.status;
        try {
          let body = Buffer.concat(chunks);
          if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
          const errs = [];
          let spans;
          if (req.headers['content-type'] === 'application/x-protobuf') {
            spans = protoSpans(body, errs);
            for (const s of spans) errs.push(...zipkinSpanErrors(s, false).map((e) => `${s.id}: ${e}`));
          } else {
            spans = JSON.parse(body.toString('utf8'));
            if (!Array.isArray(spans)) errs.push('the body is not a JSON array (ListOfSpans)');
            else for (const s of spans) errs.push(...zipkinSpanErrors(s).map((e) => `${s?.id}: ${e}`));
          }
          if (errs.length) { this.errors.push(...errs); status = 400; } else if (status < 300) this.spans.push(...spans);
        } catch (e) {
          this.errors.push(`undecodable body: ${e.message}`);
          status = 400;
        }
        res.writeHead(status, { 'content-length': 0 });
        res.end();
      });
    };
    this.server = tls ? https.createServer(tls, handler) : http.createServer(handler);
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = this.server.address().port;
    return this;
  }

  close() { return new Promise((resolve) => { this.server.closeAllConnections?.(); this.server.close(resolve); }); }
}

// ---- the mapping the agent must apply (the Collector's zipkinv2 translator), from SDK spans ----

const KIND_NAMES = { [SpanKind.SERVER]: 'SERVER', [SpanKind.CLIENT]: 'CLIENT', [SpanKind.PRODUCER]: 'PRODUCER', [SpanKind.CONSUMER]: 'CONSUMER' };

// JSON as Go's encoding/json writes a map (keys sorted); with escapeHtml as json.Marshal does.
function goJson(v, escapeHtml) {
  const sortKeys = (x) => (Array.isArray(x) ? x.map(sortKeys) : isObject(x)
    ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, sortKeys(x[k])])) : x);
  let s = JSON.stringify(sortKeys(v)).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  if (escapeHtml) s = s.replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
  return s;
}

// An SDK attribute value as the tag string pcommon's AsString gives (the values used here avoid -0,
// whose JS and Go texts differ).
const tagString = (v) => (typeof v === 'string' ? v : Array.isArray(v) ? goJson(v, false) : String(v));

const micros = (hr) => (BigInt(nanos(hr)) + 500n) / 1000n;

// An IPv6 address in full (eight groups of four hex digits), as protoEndpoint writes the bytes.
function expandIPv6(s) {
  const [head, tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => g.padStart(4, '0')).join(':');
}

// json: the JSON form (lower-case service name, IPv6 as written); otherwise the proto3 bytes'.
function endpoint(tags, service, ipKey, portKey, json) {
  const e = {};
  if (service) e.serviceName = json ? service.toLowerCase() : service;
  const ip = tags[ipKey];
  if (ip !== undefined && net.isIPv4(ip)) e.ipv4 = ip;
  else if (ip !== undefined && net.isIPv6(ip)) e.ipv6 = json ? ip : expandIPv6(ip);
  const port = tags[portKey];
  if (port !== undefined && /^\d+$/.test(port) && Number(port) <= 65535 && Number(port) > 0) e.port = Number(port);
  return service || e.ipv4 || e.ipv6 ? e : undefined;
}

// What span must look like in Zipkin. json: the JSON rules (64-bit trace ids when the high half is
// zero, lower-case names); otherwise the proto3 rules (names as they are).
function expectedZipkin(span, json) {
  const ctx = span.spanContext();
  const tags = {};
  for (const [k, v] of Object.entries(span.resource.attributes)) tags[k] = tagString(v);
  let service = DEFAULT_SERVICE;
  if (Object.keys(tags).length) {
    const from = ['service.name', 'faas.name', 'k8s.deployment.name', 'process.executable.name'].find((k) => k in tags);
    if (from) {
      service = tags[from];
      delete tags[from];
      if (from !== 'service.name') tags['otlp.service.name.source'] = from;
    }
  }
  const scope = span.instrumentationScope;
  if (scope.name) tags['otel.library.name'] = scope.name;
  if (scope.version) tags['otel.library.version'] = scope.version;
  for (const [k, v] of Object.entries(span.attributes)) tags[k] = tagString(v);
  const traceState = ctx.traceState?.serialize();
  if (traceState) tags['w3c.tracestate'] = traceState;

  const z = { traceId: json && ctx.traceId.startsWith('0000000000000000') ? ctx.traceId.slice(16) : ctx.traceId, id: ctx.spanId };
  if (span.parentSpanContext?.spanId) z.parentId = span.parentSpanContext.spanId;
  if (span.name) z.name = json ? span.name.toLowerCase() : span.name;
  if (KIND_NAMES[span.kind]) z.kind = KIND_NAMES[span.kind];
  if (span.kind === SpanKind.INTERNAL) tags['span.kind'] = 'internal';
  if (BigInt(nanos(span.startTime)) >= 1000000000n) z.timestamp = Number(micros(span.startTime));
  const d = BigInt(nanos(span.endTime)) - BigInt(nanos(span.startTime));
  if (d > 0n) z.duration = Number(d < 1000n ? 1n : (d + 500n) / 1000n);
  const local = endpoint(tags, service, 'net.host.ip', 'net.host.port', json);
  const remote = endpoint(tags, tags['peer.service'], 'net.peer.ip', 'net.peer.port', json);
  if (local) z.localEndpoint = local;
  if (remote) z.remoteEndpoint = remote;
  for (const k of ['peer.service', 'net.host.ip', 'net.host.port', 'net.peer.ip', 'net.peer.port']) delete tags[k];

  if (span.status.code === SpanStatusCode.ERROR) tags.error = 'true'; else delete tags.error;
  if (span.status.code !== SpanStatusCode.UNSET) {
    tags['otel.status_code'] = span.status.code === SpanStatusCode.ERROR ? 'STATUS_CODE_ERROR' : 'STATUS_CODE_OK';
    if (span.status.message) tags['otel.status_description'] = span.status.message;
  }
  if (span.events.length) {
    z.annotations = span.events.map((e) => {
      const attrs = e.attributes ?? {};
      const dropped = e.droppedAttributesCount ?? 0;
      const value = Object.keys(attrs).length === 0 && dropped === 0 ? e.name : `${e.name}|${goJson(attrs, true)}|${dropped}`;
      return { timestamp: Number(micros(e.time)), value };
    });
  }
  span.links.forEach((l, i) => {
    tags[`otlp.link.${i}`] = `${l.context.traceId}|${l.context.spanId}|${l.context.traceState?.serialize() ?? ''}|` +
      `${goJson(l.attributes ?? {}, true)}|${l.droppedAttributesCount ?? 0}`;
  });
  if (Object.keys(tags).length) z.tags = tags;
  return z;
}

// ---- the agent and the SDK ----

function agentConfig({ httpPort, metricsPort, backendPort, format, extra = '', scheme = 'http' }) {
  return `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${httpPort}
exporters:
  zipkin:
    endpoint: ${scheme}://127.0.0.1:${backendPort}/api/v2/spans
    format: ${format}
    default_service_name: ${DEFAULT_SERVICE}
${extra}
service:
  telemetry:
    metrics:
      address: 127.0.0.1:${metricsPort}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [zipkin]
`;
}

async function startAgent(backend, format, extra, scheme) {
  const [httpPort, metricsPort] = await freePorts(2);
  const agent = new Agent(agentConfig({ httpPort, metricsPort, backendPort: backend.port, format, extra, scheme }), { dir: tempDir('ocagent-zipkin-') });
  await agent.started();
  await waitListening([httpPort], agent);
  return { agent, httpPort, metricsPort };
}

const random = (n) => { let s = ''; for (let i = 0; i < n; i++) s += Math.floor(Math.random() * 16).toString(16); return s; };

// Spans of every kind; a child of a remote parent with trace state; attributes of every type the
// SDK takes; events with and without attributes (one with characters Go's JSON escapes); links;
// status ERROR with a message and OK; peer and host address attributes for the endpoints.
function makeSpans(tracer, tag) {
  const spans = [];
  const root = tracer.startSpan(`GET /Orders/${tag}`, {
    kind: SpanKind.SERVER, startTime: [1700000000, 123456500],
    attributes: {
      'http.method': 'GET', 'str': `ünïcödé ✓ "q" \\ ${tag}`, 'int': 42, 'neg': -7, 'double': 3.25, 'tiny': 1.5e-7,
      'big': 1e21, 'bool': true, 'arr.str': ['a', 'b<c'], 'arr.num': [1, 2.5], 'arr.bool': [false],
      'net.host.ip': '192.0.2.10', 'net.host.port': 8443,
    },
  });
  root.addEvent('exception', { 'exception.message': 'bad <input> & more', 'n': 7, 'ok': false }, [1700000000, 223456789]);
  root.addEvent('cache-miss', [1700000000, 323456499]);
  root.setStatus({ code: SpanStatusCode.ERROR, message: 'boom: "quoted"' });
  const remote = { traceId: random(32), spanId: random(16), traceFlags: TraceFlags.SAMPLED, isRemote: true, traceState: createTraceState('vendor=value,other=1') };
  const child = tracer.startSpan(`db-query-${tag}`, {
    kind: SpanKind.CLIENT, startTime: [1700000000, 400000000],
    attributes: { 'peer.service': 'Orders-DB', 'net.peer.ip': '2001:db8::7', 'net.peer.port': 5432, 'db.system': 'postgresql' },
    links: [{ context: remote, attributes: { 'link.str': 'ü', 'link.int': -1 } }, { context: root.spanContext() }],
  }, trace.setSpan(ROOT_CONTEXT, root));
  child.setStatus({ code: SpanStatusCode.OK });
  child.end([1700000000, 400000999]);
  spans.push(child);
  for (const kind of [SpanKind.INTERNAL, SpanKind.PRODUCER, SpanKind.CONSUMER]) {
    const s = tracer.startSpan(`kind-${kind}-${tag}`, { kind, startTime: [1700000002, kind], attributes: { kind, 'net.peer.ip': '203.0.113.9' } }, trace.setSpan(ROOT_CONTEXT, child));
    s.end([1700000002, 400 + kind]);
    spans.push(s);
  }
  const fromRemote = tracer.startSpan(`remote-child-${tag}`, { kind: SpanKind.SERVER, attributes: { 'error': 'false' } }, trace.setSpanContext(ROOT_CONTEXT, remote));
  fromRemote.end();
  spans.push(fromRemote);
  root.end([1700000001, 987654321]);
  spans.push(root);
  return spans;
}

async function sendSpans(port, tag, resource) {
  const tee = new Tee(traceExporter('http/protobuf', { port }));
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(tee)] });
  const spans = makeSpans(provider.getTracer(`tracer-${tag}`, '0.9.1'), tag);
  await provider.forceFlush();
  await provider.shutdown();
  assert.deepEqual(tee.failures(), [], 'the SDK reported failed exports');
  return spans;
}

async function checkArrived(backend, spans, json) {
  await waitFor(`${spans.length} spans at the Zipkin backend`, () => {
    assert.deepEqual(backend.errors, [], 'the backend found spans breaking the Zipkin v2 API');
    return spans.every((s) => backend.spans.some((z) => z.id === s.spanContext().spanId));
  }, DEADLINE);
  for (const s of spans) {
    const got = backend.spans.filter((z) => z.id === s.spanContext().spanId);
    assert.equal(got.length, 1, `span ${s.name} arrived once`);
    assert.deepEqual(got[0], expectedZipkin(s, json), `span ${s.name}`);
  }
}

describe('zipkin exporter', () => {
  let backend;
  before(async () => { backend = await new ZipkinBackend().start(); });
  after(async () => { await backend.close(); });

  test('JSON: every span arrives valid and mapped as the Collector maps it', async () => {
    const { agent, httpPort } = await startAgent(backend, 'json');
    try {
      const spans = await sendSpans(httpPort, 'json', resourceFromAttributes({ 'service.name': 'Checkout-API', 'host.name': 'h1', 'service.instance': 3 }));
      const noService = await sendSpans(httpPort, 'json-default', resourceFromAttributes({}));
      await checkArrived(backend, [...spans, ...noService], true);
      const root = backend.spans.find((z) => z.id === spans.at(-1).spanContext().spanId);
      assert.equal(root.localEndpoint.serviceName, 'checkout-api');
      assert.equal(root.tags.error, 'true');
      assert.equal(backend.spans.find((z) => z.id === noService[0].spanContext().spanId).localEndpoint.serviceName, DEFAULT_SERVICE.toLowerCase());
      for (const r of backend.requests) {
        assert.equal(r.method, 'POST');
        assert.equal(r.url, '/api/v2/spans');
        assert.equal(r.httpVersion, '1.1');
        assert.equal(r.headers['content-type'], 'application/json');
        assert.equal(r.headers['content-encoding'], undefined);
      }
    } finally {
      assert.equal((await agent.stop()).code, 0, agent.stderr);
    }
  });

  test('proto: gzip-compressed ListOfSpans decodes to the same mapping (names as they are)', async () => {
    backend.requests.length = 0;
    const { agent, httpPort } = await startAgent(backend, 'proto', '    compression: gzip\n    headers:\n      x-tenant: t1');
    try {
      const spans = await sendSpans(httpPort, 'proto', resourceFromAttributes({ 'service.name': 'Checkout-API', 'deployment.environment': 'prod' }));
      // proto3 always carries 128-bit trace ids, so the JSON rule for 64-bit ones does not apply.
      await checkArrived(backend, spans, false);
      assert.ok(backend.requests.length > 0);
      for (const r of backend.requests) {
        assert.equal(r.headers['content-type'], 'application/x-protobuf');
        assert.equal(r.headers['content-encoding'], 'gzip');
        assert.equal(r.headers['x-tenant'], 't1');
        assert.equal(r.httpVersion, '1.1');
      }
    } finally {
      assert.equal((await agent.stop()).code, 0, agent.stderr);
    }
  });

  test('https with mutual TLS: the server is verified with ca_file and sees the client certificate', async () => {
    const certs = makeCerts(tempDir('ocagent-zipkin-certs-'));
    const secure = await new ZipkinBackend().start({
      key: certs.server_key_pem, cert: certs.server_crt_pem, ca: certs.ca_crt_pem, requestCert: true, rejectUnauthorized: true,
    });
    const tls = `    tls:\n      ca_file: ${certs.ca_crt}\n      cert_file: ${certs.client_crt}\n      key_file: ${certs.client_key}`;
    const { agent, httpPort } = await startAgent(secure, 'json', tls, 'https');
    try {
      const spans = await sendSpans(httpPort, 'tls', resourceFromAttributes({ 'service.name': 'secure' }));
      await checkArrived(secure, spans, true);
      assert.ok(secure.requests.length > 0);
      for (const r of secure.requests) assert.equal(r.clientCN, 'ocagent test client');
    } finally {
      assert.equal((await agent.stop()).code, 0, agent.stderr);
      await secure.close();
    }
  });

  test('a backend answering 400 counts the spans as send_failed, without retries', async () => {
    const bad = await new ZipkinBackend().start();
    bad.status = 400;
    const { agent, httpPort, metricsPort } = await startAgent(bad, 'json');
    try {
      const spans = await sendSpans(httpPort, 'rejected', resourceFromAttributes({ 'service.name': 'r' }));
      const metrics = async () => {
        const r = await httpRequest({ port: metricsPort, method: 'GET', path: '/metrics' }).catch(() => null);
        return r && r.status === 200 ? parseProm(r.body.toString('utf8')) : null;
      };
      const m = await waitFor('send_failed spans', async () => {
        const s = await metrics();
        return s && promSum(s, 'otelcol_exporter_send_failed_spans', { exporter: 'zipkin' }) >= spans.length && s;
      }, DEADLINE);
      assert.equal(promSum(m, 'otelcol_exporter_send_failed_spans', { exporter: 'zipkin' }), spans.length);
      assert.equal(promSum(m, 'otelcol_exporter_sent_spans', { exporter: 'zipkin' }), 0);
      assert.deepEqual(bad.errors, [], 'the rejected requests were valid all the same');
      assert.equal(bad.requests.length, spans.length, 'a permanent error is not retried');
    } finally {
      assert.equal((await agent.stop()).code, 0, agent.stderr);
      await bad.close();
    }
  });
});
