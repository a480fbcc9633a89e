// Bad input against the otlp receiver: each case must get the status the OTLP spec (and gRPC's)
// gives it, while a well-behaved SDK client on its own connections keeps being served (a span is
// sent and must arrive after every case), the agent stays alive and its RSS stays bounded.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import zlib from 'node:zlib';
import grpc from '@grpc/grpc-js';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { Agent, readJsonLines, tempDir, waitFor } from './lib/agent.mjs';
import { flatten } from './lib/otlp.mjs';
import {
  H2_PREFACE, RawConn, decodeStatus, establishedConnections, freePorts, h2Frame, h2Frames, h2Request, httpRequest, pbLen, waitListening,
} from './lib/net.mjs';
import { Tee, traceExporter } from './lib/sdk.mjs';
import { zstdFrame, zstdRun } from './lib/zstd.mjs';

const DEADLINE = 30000;
const BODY_LIMIT = 256 * 1024;
const TRACE_EXPORT = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

function config(dir, p, { httpExtra = '', grpcExtra = '' } = {}) {
  return `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${p.grpc}
        max_recv_msg_size_mib: 1${grpcExtra}
      http:
        endpoint: 127.0.0.1:${p.http}
        max_request_body_size: ${BODY_LIMIT}
        max_header_bytes: 8KiB${httpExtra || '\n        read_header_timeout: 1s'}
exporters:
  file:
    path: ${dir}/out.jsonl
    flush_interval: 0s
service:
  telemetry:
    logs:
      level: debug
    metrics:
      address: 127.0.0.1:${p.metrics}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file]
`;
}

async function startAgent(opts) {
  const dir = tempDir('ocagent-bad-');
  const [grpcPort, httpPort, metricsPort] = await freePorts(3);
  const p = { grpc: grpcPort, http: httpPort, metrics: metricsPort };
  const agent = new Agent(config(dir, p, opts), { dir });
  await agent.started();
  await waitListening([grpcPort, httpPort], agent);
  return { agent, dir, ports: p, out: path.join(dir, 'out.jsonl') };
}

// The well-behaved client: the SDK's http/protobuf and grpc exporters, each on its own
// keep-alive connection, sending one span per check; both must arrive in the file.
class GoodClient {
  constructor(ctx) {
    this.ctx = ctx;
    this.providers = ['http/protobuf', 'grpc'].map((transport) => {
      const tee = new Tee(traceExporter(transport, { port: transport === 'grpc' ? ctx.ports.grpc : ctx.ports.http }));
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': `good-${transport}` }),
        spanProcessors: [new SimpleSpanProcessor(tee)],
      });
      return { transport, tee, provider, tracer: provider.getTracer('good') };
    });
  }
  async check(label) {
    this.ctx.agent.assertAlive();
    const names = [];
    for (const p of this.providers) {
      const name = `good ${p.transport} after ${label}`;
      names.push(name);
      p.tracer.startSpan(name).end();
    }
    await Promise.all(this.providers.map((p) => p.provider.forceFlush()));
    for (const p of this.providers) assert.deepEqual(p.tee.failures().map((r) => String(r.error)), [], `good ${p.transport} client after ${label}`);
    await waitFor(`good spans after ${label}`, () => {
      const got = new Set(flatten(readJsonLines(this.ctx.out)).map((x) => x.item.name));
      return names.every((n) => got.has(n));
    }, DEADLINE);
    this.ctx.agent.assertAlive();
  }
  async close() { await Promise.all(this.providers.map((p) => p.provider.shutdown())); }
}

// ExportTraceServiceRequest { resource_spans { scope_spans { spans { trace_id, span_id, name } } } }
function traceRequestProto(name) {
  const span = Buffer.concat([pbLen(1, crypto.randomBytes(16)), pbLen(2, crypto.randomBytes(8)), pbLen(5, Buffer.from(name))]);
  return pbLen(1, pbLen(2, pbLen(2, span)));
}
const traceRequestJson = (name, traceId = crypto.randomBytes(16).toString('hex')) => JSON.stringify({
  resourceSpans: [{ scopeSpans: [{ spans: [{ traceId, spanId: crypto.randomBytes(8).toString('hex'), name }] }] }],
});

const post = (ctx, p, contentType, body, extra = {}) => httpRequest({
  port: ctx.ports.http, path: p, headers: { 'content-type': contentType, ...extra }, body,
});

// The error body of a 4xx/5xx: a google.rpc.Status in the request's encoding.
function statusOf(res, json) {
  if (json) {
    assert.match(res.headers['content-type'] ?? '', /^application\/json/, 'a JSON request gets a JSON Status');
    return JSON.parse(res.body.toString('utf8'));
  }
  assert.match(res.headers['content-type'] ?? '', /^application\/x-protobuf/, 'a protobuf request gets a protobuf Status');
  return decodeStatus(res.body);
}

// One unary gRPC call with raw bytes; resolves { code, details, metadata } (code 0 on success).
function grpcCall(port, method, body, options = {}) {
  return new Promise((resolve) => {
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), options);
    client.makeUnaryRequest(method, (b) => b, (b) => b, body, new grpc.Metadata(), { deadline: Date.now() + DEADLINE }, (err, res) => {
      client.close();
      resolve(err ? { code: err.code, details: err.details, metadata: err.metadata } : { code: 0, res });
    });
  });
}

// 64 MiB of zeros in about 64 KiB of gzip.
let bombCache;
function gzipBomb() {
  bombCache ??= zlib.gzipSync(Buffer.alloc(64 << 20), { level: 9 });
  return bombCache;
}

// 64 MiB of zeros in about 2 KiB of zstd, declaring an 8 MiB window (what Go's encoder declares).
const zstdBomb = () => zstdRun(0, 64 << 20, { windowLog: 23 });

// A gRPC message frame: the compressed flag and the length prefix, then the bytes.
const grpcFrame = (compressed, bytes) => {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([prefix, bytes]);
};
const grpcHeaders = (encoding) => ({
  ':method': 'POST', ':path': TRACE_EXPORT, 'content-type': 'application/grpc', 'grpc-encoding': encoding, te: 'trailers',
});
const grpcStatusOf = (r) => r.trailers?.['grpc-status'] ?? r.headers?.['grpc-status'];

// Waits until the agent closes a raw connection; returns how long that took from `since`.
async function closedWithin(conn, since, what) {
  await waitFor(what, () => conn.closed, DEADLINE);
  return conn.closedAt - since;
}

describe('bad input, each answered while a good client keeps being served', () => {
  let ctx, good, rss0;
  before(async () => {
    ctx = await startAgent();
    good = new GoodClient(ctx);
    await good.check('start');
    rss0 = ctx.agent.rssKiB();
  });
  after(async () => {
    await good?.close();
    const r = await ctx.agent.stop();
    assert.equal(r.code, 0, ctx.agent.stderr);
  });

  const cases = [
    ['truncated protobuf: 400 with a protobuf Status', async () => {
      const full = traceRequestProto('truncated');
      const res = await post(ctx, '/v1/traces', 'application/x-protobuf', full.subarray(0, full.length - 5));
      assert.equal(res.status, 400, JSON.stringify(res));
      const st = statusOf(res, false);
      assert.equal(st.code, 3, 'Status.code INVALID_ARGUMENT, as the Collector');
      assert.ok(st.message.length > 0, 'Status.message says what is wrong');
    }],
    ['invalid JSON: 400 with a JSON Status naming the problem', async () => {
      const res = await post(ctx, '/v1/traces', 'application/json', '{"resourceSpans": [');
      assert.equal(res.status, 400, JSON.stringify(res));
      const st = statusOf(res, true);
      assert.equal(st.code, 3, 'Status.code INVALID_ARGUMENT, as the Collector');
      assert.match(st.message ?? '', /JSON/, `Status.message names the problem: ${JSON.stringify(st)}`);
    }],
    ['hex trace id of the wrong length in JSON: 400 naming the field', async () => {
      const res = await post(ctx, '/v1/traces', 'application/json', traceRequestJson('badid', 'abc'));
      assert.equal(res.status, 400, JSON.stringify(res));
      assert.match(statusOf(res, true).message, /trace_?id/i);
    }],
    ['span id of the wrong length in protobuf: 400', async () => {
      const span = Buffer.concat([pbLen(1, crypto.randomBytes(16)), pbLen(2, crypto.randomBytes(5)), pbLen(5, Buffer.from('x'))]);
      const res = await post(ctx, '/v1/traces', 'application/x-protobuf', pbLen(1, pbLen(2, pbLen(2, span))));
      assert.equal(res.status, 400, JSON.stringify(res));
    }],
    ['wrong content-type: 415', async () => {
      const res = await post(ctx, '/v1/traces', 'text/plain', 'hello');
      assert.equal(res.status, 415, JSON.stringify(res));
    }],
    ['no content-type: 415', async () => {
      const res = await httpRequest({ port: ctx.ports.http, path: '/v1/traces', body: traceRequestProto('no-ct') });
      assert.equal(res.status, 415, JSON.stringify(res));
    }],
    ['unknown URL path: 404', async () => {
      const res = await post(ctx, '/v1/nothing', 'application/x-protobuf', traceRequestProto('404'));
      assert.equal(res.status, 404, JSON.stringify(res));
    }],
    ['GET /v1/traces: 405 with Allow: POST', async () => {
      const res = await httpRequest({ port: ctx.ports.http, method: 'GET', path: '/v1/traces' });
      assert.equal(res.status, 405, JSON.stringify(res));
      assert.match(res.headers.allow ?? '', /POST/);
    }],
    ['oversize body with Content-Length: 413', async () => {
      const res = await post(ctx, '/v1/traces', 'application/x-protobuf', traceRequestProto('x'.repeat(BODY_LIMIT + 1024)));
      assert.equal(res.status, 413, JSON.stringify(res.error ?? res.status));
      // The spec: every 4xx body is a google.rpc.Status in the request's encoding.
      assert.match(statusOf(res, false).message, /max_request_body_size/);
    }],
    ['oversize chunked body: 413', async () => {
      const res = await post(ctx, '/v1/traces', 'application/x-protobuf', traceRequestProto('y'.repeat(BODY_LIMIT + 1024)), { 'transfer-encoding': 'chunked' });
      assert.equal(res.status, 413, JSON.stringify(res.error ?? res.status));
      assert.match(statusOf(res, false).message, /max_request_body_size/);
    }],
    ['header block over max_header_bytes: 431', async () => {
      const res = await post(ctx, '/v1/traces', 'application/x-protobuf', traceRequestProto('h'), { 'x-big': 'z'.repeat(16 * 1024) });
      assert.ok(res.status === 431 || (res.status === undefined && res.error), `431 or connection closed, got ${res.status ?? res.error}`);
    }],
    ['gzip bomb: 413 and RSS stays bounded', async (t) => {
      const bomb = gzipBomb();
      assert.ok(bomb.length < BODY_LIMIT, `the compressed bomb (${bomb.length} bytes) fits the raw limit`);
      const before = ctx.agent.rssKiB();
      for (let i = 0; i < 3; i++) {
        const res = await post(ctx, '/v1/traces', 'application/x-protobuf', bomb, { 'content-encoding': 'gzip' });
        assert.equal(res.status, 413, JSON.stringify(res.error ?? res.status));
      }
      const grown = ctx.agent.rssKiB() - before;
      t.diagnostic(`RSS ${before} KiB before three 64 MiB bombs, +${grown} KiB after`);
      assert.ok(grown < 32 * 1024, `RSS grew by ${grown} KiB for three 64 MiB bombs`);
    }],
    ['corrupt gzip body: 400', async () => {
      const gz = zlib.gzipSync(traceRequestProto('corrupt'));
      gz[gz.length - 6] ^= 0xff; // the CRC32 of the trailer
      const res = await post(ctx, '/v1/traces', 'application/x-protobuf', gz, { 'content-encoding': 'gzip' });
      assert.equal(res.status, 400, JSON.stringify(res.error ?? res.status));
    }],
    ['zstd body, two frames (the control for the zstd cases below): 200 and the span arrives', async () => {
      const name = `zstd-ok-${crypto.randomUUID()}`;
      const req = traceRequestProto(name);
      const half = req.length >> 1;
      const body = Buffer.concat([zstdFrame(req.subarray(0, half)), zstdFrame(req.subarray(half), { windowLog: 23 })]);
      const res = await post(ctx, '/v1/traces', 'application/x-protobuf', body, { 'content-encoding': 'zstd' });
      assert.equal(res.status, 200, JSON.stringify(res.error ?? res.status));
      await waitFor('the zstd span', () => flatten(readJsonLines(ctx.out)).some((x) => x.item.name === name), DEADLINE);
    }],
    ['zstd bomb: 413 and RSS stays bounded', async (t) => {
      const bomb = zstdBomb();
      assert.ok(bomb.length < 4096, `the compressed bomb is ${bomb.length} bytes`);
      const before = ctx.agent.rssKiB();
      for (let i = 0; i < 3; i++) {
        const res = await post(ctx, '/v1/traces', 'application/x-protobuf', bomb, { 'content-encoding': 'zstd' });
        assert.equal(res.status, 413, JSON.stringify(res.error ?? res.status));
        assert.match(statusOf(res, false).message, /max_request_body_size/);
      }
      const grown = ctx.agent.rssKiB() - before;
      t.diagnostic(`RSS ${before} KiB before three 64 MiB zstd bombs, +${grown} KiB after`);
      assert.ok(grown < 32 * 1024, `RSS grew by ${grown} KiB for three 64 MiB zstd bombs`);
    }],
    // libzstd alone would take it (its default limit is 128 MiB) and allocate the window.
    ['a small zstd frame declaring a 64 MiB window: 413, not allocated', async (t) => {
      const before = ctx.agent.rssKiB();
      const res = await post(ctx, '/v1/traces', 'application/x-protobuf', zstdFrame(traceRequestProto('wide'), { windowLog: 26 }), { 'content-encoding': 'zstd' });
      assert.equal(res.status, 413, JSON.stringify(res.error ?? res.status));
      assert.match(statusOf(res, false).message, /window/);
      const grown = ctx.agent.rssKiB() - before;
      t.diagnostic(`RSS +${grown} KiB`);
      assert.ok(grown < 8 * 1024, `RSS grew by ${grown} KiB`);
    }],
    ['truncated and corrupt zstd bodies: 400 naming zstd', async () => {
      const z = zstdFrame(traceRequestProto('truncated-zstd'));
      for (const body of [z.subarray(0, z.length - 2), Buffer.concat([z, Buffer.from('trailing bytes')]), zlib.gzipSync(traceRequestProto('gz'))]) {
        const res = await post(ctx, '/v1/traces', 'application/x-protobuf', body, { 'content-encoding': 'zstd' });
        assert.equal(res.status, 400, JSON.stringify(res.error ?? res.status));
        assert.match(statusOf(res, false).message, /zstd/);
      }
    }],
    ['bytes that are not HTTP: closed or 400', async () => {
      const c = new RawConn(ctx.ports.http);
      await c.connected;
      c.write(Buffer.concat([Buffer.from([0, 1, 2, 0xff, 0xfe]), crypto.randomBytes(200), Buffer.from('\r\n\r\n')]));
      await closedWithin(c, Date.now(), 'the agent to close a connection of garbage');
      const text = c.data.toString('latin1');
      assert.ok(c.data.length === 0 || /^HTTP\/1\.[01] 400/.test(text), `answer to garbage: ${JSON.stringify(text.slice(0, 80))}`);
    }],
    ['a garbage HTTP/2 frame after a valid preface: GOAWAY, connection closed', async () => {
      const c = new RawConn(ctx.ports.http);
      await c.connected;
      // A DATA frame on stream 0 is a connection error (PROTOCOL_ERROR) by RFC 9113 6.1.
      c.write(Buffer.concat([H2_PREFACE, h2Frame(0x4, 0, 0), h2Frame(0x0, 0, 0, crypto.randomBytes(32))]));
      await closedWithin(c, Date.now(), 'the agent to close the HTTP/2 connection');
      const goaway = h2Frames(c.data).find((f) => f.type === 0x7);
      assert.ok(goaway, `a GOAWAY came before the close (frames: ${h2Frames(c.data).map((f) => f.type)})`);
      assert.equal(goaway.payload.readUInt32BE(4), 0x1, 'GOAWAY PROTOCOL_ERROR');
    }],
    ['text after the HTTP/2 preface: closed', async () => {
      const c = new RawConn(ctx.ports.grpc);
      await c.connected;
      // Read as a frame header, 'thi' is a length of 7628904: over SETTINGS_MAX_FRAME_SIZE.
      c.write(Buffer.concat([H2_PREFACE, Buffer.from('this is not an HTTP/2 frame\r\n'.repeat(10))]));
      await closedWithin(c, Date.now(), 'the agent to close the HTTP/2 connection');
    }],
    ['a client sending one header byte per second is cut off by read_header_timeout', async (t) => {
      const c = new RawConn(ctx.ports.http);
      await c.connected;
      const t0 = Date.now();
      const header = Buffer.from('POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n');
      let i = 0;
      c.write(header.subarray(i, ++i));
      const timer = setInterval(() => c.write(header.subarray(i, ++i)), 1000);
      try {
        // Others are served while the trickle goes on.
        await good.check('the trickle started');
        const took = await closedWithin(c, t0, 'the trickling client to be cut off');
        t.diagnostic(`cut off after ${took} ms and ${i} bytes`);
        assert.ok(i < header.length, 'cut off before its headers were complete');
        // read_header_timeout is 1s; allow for a slow (sanitizer) build, not for no timeout.
        assert.ok(took < 6000, `cut off after ${took} ms`);
      } finally {
        clearInterval(timer);
        c.destroy();
      }
    }],
    ['gRPC unknown method and unknown service: UNIMPLEMENTED', async () => {
      const a = await grpcCall(ctx.ports.grpc, '/opentelemetry.proto.collector.trace.v1.TraceService/Nope', traceRequestProto('g'));
      assert.equal(a.code, grpc.status.UNIMPLEMENTED, JSON.stringify(a));
      const b = await grpcCall(ctx.ports.grpc, '/no.such.Service/Export', traceRequestProto('g'));
      assert.equal(b.code, grpc.status.UNIMPLEMENTED, JSON.stringify(b));
    }],
    ['gRPC message over max_recv_msg_size_mib: RESOURCE_EXHAUSTED', async () => {
      const r = await grpcCall(ctx.ports.grpc, TRACE_EXPORT, traceRequestProto('m'.repeat(2 << 20)));
      assert.equal(r.code, grpc.status.RESOURCE_EXHAUSTED, JSON.stringify(r));
    }],
    ['gRPC truncated protobuf: INVALID_ARGUMENT', async () => {
      const full = traceRequestProto('truncated-grpc');
      const r = await grpcCall(ctx.ports.grpc, TRACE_EXPORT, full.subarray(0, full.length - 5));
      assert.equal(r.code, grpc.status.INVALID_ARGUMENT, JSON.stringify(r));
    }],
    ['gRPC gzip bomb: RESOURCE_EXHAUSTED', async (t) => {
      const before = ctx.agent.rssKiB();
      const r = await h2Request({ port: ctx.ports.grpc, body: grpcFrame(true, gzipBomb()), headers: grpcHeaders('gzip') });
      assert.equal(r.status, 200, JSON.stringify(r.error ?? r.status));
      assert.equal(grpcStatusOf(r), String(grpc.status.RESOURCE_EXHAUSTED));
      const grown = ctx.agent.rssKiB() - before;
      t.diagnostic(`RSS +${grown} KiB for a 64 MiB gRPC bomb`);
      assert.ok(grown < 32 * 1024, `RSS grew by ${grown} KiB for a 64 MiB gRPC bomb`);
    }],
    ['gRPC zstd: a message is served; a bomb is RESOURCE_EXHAUSTED; corrupt data INTERNAL', async (t) => {
      const name = `zstd-grpc-${crypto.randomUUID()}`;
      let r = await h2Request({ port: ctx.ports.grpc, body: grpcFrame(true, zstdFrame(traceRequestProto(name))), headers: grpcHeaders('zstd') });
      assert.equal(grpcStatusOf(r), '0', JSON.stringify(r.error ?? r.trailers));
      await waitFor('the gRPC zstd span', () => flatten(readJsonLines(ctx.out)).some((x) => x.item.name === name), DEADLINE);
      const before = ctx.agent.rssKiB();
      for (let i = 0; i < 3; i++) {
        r = await h2Request({ port: ctx.ports.grpc, body: grpcFrame(true, zstdBomb()), headers: grpcHeaders('zstd') });
        assert.equal(grpcStatusOf(r), String(grpc.status.RESOURCE_EXHAUSTED), JSON.stringify(r.error ?? r.trailers));
      }
      const grown = ctx.agent.rssKiB() - before;
      t.diagnostic(`RSS +${grown} KiB for three 64 MiB gRPC zstd bombs`);
      assert.ok(grown < 32 * 1024, `RSS grew by ${grown} KiB for three 64 MiB gRPC zstd bombs`);
      const z = zstdFrame(traceRequestProto('truncated-grpc-zstd'));
      r = await h2Request({ port: ctx.ports.grpc, body: grpcFrame(true, z.subarray(0, z.length - 2)), headers: grpcHeaders('zstd') });
      assert.equal(grpcStatusOf(r), String(grpc.status.INTERNAL), JSON.stringify(r.error ?? r.trailers));
    }],
    ['gRPC over HTTP/2 with a non-gRPC content-type on the Export path: not served as gRPC', async () => {
      const r = await h2Request({
        port: ctx.ports.grpc, body: 'x',
        headers: { ':method': 'POST', ':path': TRACE_EXPORT, 'content-type': 'text/plain' },
      });
      assert.ok([404, 415].includes(r.status), `got ${r.status ?? r.error}`);
    }],
  ];

  for (const [name, run] of cases) {
    test(name, async (t) => {
      await run(t);
      await good.check(name);
    });
  }

  test('the agent is alive and its RSS bounded after all of it', (t) => {
    const grown = ctx.agent.rssKiB() - rss0;
    t.diagnostic(`RSS ${rss0} KiB after the first good request, +${grown} KiB after the table`);
    assert.ok(grown < 64 * 1024, `RSS grew by ${grown} KiB over the bad-input table`);
  });
});

test('1000 idle connections: the agent holds them and still serves a new client; RSS bounded', async (t) => {
  const ctx = await startAgent({ httpExtra: '\n        max_connections: 1100\n        read_header_timeout: 60s\n        idle_timeout: 60s' });
  const good = new GoodClient(ctx);
  const conns = [];
  const held = () => establishedConnections(ctx.agent.pid, ctx.ports.http);
  try {
    await good.check('start');
    const base = held(), rss0 = ctx.agent.rssKiB();
    for (let i = 0; i < 1000; i++) conns.push(new RawConn(ctx.ports.http));
    await Promise.all(conns.map((c) => c.connected));
    await waitFor('the agent to accept 1000 connections', () => held() >= base + 1000, DEADLINE);
    await good.check('1000 idle connections');
    assert.equal(conns.filter((c) => c.closed).length, 0, 'no idle connection was closed under the limit');
    const grown = ctx.agent.rssKiB() - rss0;
    t.diagnostic(`RSS ${rss0} KiB, +${grown} KiB with 1000 idle connections`);
    assert.ok(grown < 64 * 1024, `RSS grew by ${grown} KiB for 1000 idle connections`);
    for (const c of conns) c.destroy();
    await waitFor('the agent to release the connections', () => held() <= base, DEADLINE);
    await good.check('the idle connections left');
  } finally {
    for (const c of conns) c.destroy();
    await good.close();
    assert.equal((await ctx.agent.stop()).code, 0, ctx.agent.stderr);
  }
});

test('over max_connections: the extra connections are closed at once, the agent recovers', async () => {
  const ctx = await startAgent({ grpcExtra: '\n        max_connections: 20' });
  const conns = [];
  const held = () => establishedConnections(ctx.agent.pid, ctx.ports.grpc);
  try {
    // waitListening's probe is gone before we start counting.
    await waitFor('no connection on the gRPC port', () => held() === 0, DEADLINE);
    for (let i = 0; i < 40; i++) conns.push(new RawConn(ctx.ports.grpc));
    await Promise.all(conns.map((c) => c.connected));
    await waitFor('20 connections over the limit closed', () => conns.filter((c) => c.closed).length >= 20, DEADLINE);
    // Under a loaded machine the kernel's view of a just-closed socket can lag the client's, so
    // the count is awaited; it must settle at exactly the limit.
    await waitFor('the agent to hold max_connections connections', () => held() === 20, DEADLINE);
    assert.equal(held(), 20, 'the agent holds max_connections connections');
    assert.equal(conns.filter((c) => c.closed).length, 20, 'exactly the connections over the limit were closed');
    for (const c of conns) c.destroy();
    // Once the agent has seen the held ones go, a new client is served again.
    await waitFor('the agent to release the connections', () => held() === 0, DEADLINE);
    const good = new GoodClient(ctx);
    try {
      await good.check('over the limit');
    } finally {
      await good.close();
    }
  } finally {
    for (const c of conns) c.destroy();
    assert.equal((await ctx.agent.stop()).code, 0, ctx.agent.stderr);
  }
});
