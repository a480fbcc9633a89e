// The OTLP exporters (and the exporter helper under them) against backends that fail: a gRPC
// backend (grpc-js) that is down for 20 s, one that answers INVALID_ARGUMENT or UNAVAILABLE /
// RESOURCE_EXHAUSTED with RetryInfo; an OTLP/HTTP backend (node:http) that answers 400 with a
// google.rpc.Status, 503 with Retry-After, never answers, or stalls until the sending queue is full;
// and both kinds answering with a partial_success.
// Each case checks what the backend saw (every span once, how many attempts, how far apart), what
// the agent logged and what its counters say. The cases run concurrently, each with its own agent
// and backend, so the 20 s outage bounds the file's wall time.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { Agent, waitFor } from './lib/agent.mjs';
import { freePorts, httpRequest, pbLen, pbVarint, waitListening } from './lib/net.mjs';
import { traceRequest } from './lib/otlp.mjs';
import { GRPC, GrpcTraceBackend, HttpTraceBackend, exporterCounters, receiverCounter, retryInfoStatus } from './lib/otlp_backends.mjs';
import { Tee, traceExporter } from './lib/sdk.mjs';

const DEADLINE = 45000;
const QUICK_RETRY = 'retry_on_failure: {initial_interval: 100ms, max_interval: 500ms, randomization_factor: 0}';

// Agent A: OTLP in (gRPC and HTTP), the exporter under test for traces, metrics on metricsPort.
async function startAgent(id, exporter) {
  const [grpcPort, httpPort, metricsPort] = await freePorts(3);
  const agent = new Agent(`
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${grpcPort}
      http:
        endpoint: 127.0.0.1:${httpPort}
exporters:
  ${id}:
${exporter.trim().split('\n').map((l) => `    ${l}`).join('\n')}
service:
  telemetry:
    metrics:
      address: 127.0.0.1:${metricsPort}
  pipelines:
    traces: {receivers: [otlp], exporters: [${id}]}
`);
  await agent.started();
  await waitListening([grpcPort, httpPort], agent);
  return { agent, grpcPort, httpPort, metricsPort, counters: () => exporterCounters(metricsPort, id) };
}

// Posts an OTLP/JSON request to the agent's HTTP receiver; resolves { status, headers, ids }.
async function post(a, req) {
  const ids = req.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.spanId)));
  const r = await httpRequest({ port: a.httpPort, path: '/v1/traces', headers: { 'content-type': 'application/json' }, body: JSON.stringify(req) });
  return { status: r.status, headers: r.headers, ids };
}

// traceRequest's ids come from a small generator that repeats; ids here must be unique.
function uniqueSpans(n, tag) {
  const req = traceRequest(n, tag);
  for (const rs of req.resourceSpans)
    for (const ss of rs.scopeSpans)
      for (const span of ss.spans) {
        span.traceId = crypto.randomBytes(16).toString('hex');
        span.spanId = crypto.randomBytes(8).toString('hex');
        delete span.parentSpanId;
      }
  return req;
}
const postSpans = (a, n, tag) => post(a, uniqueSpans(n, tag));

async function stop(a) {
  const r = await a.agent.stop();
  assert.equal(r.code, 0, a.agent.stderr);
}

// Waits until the backend has accepted every id, then checks that none came twice.
async function allArrivedOnce(backend, ids, what) {
  await waitFor(`${ids.length} spans at the backend (${what})`, () => ids.every((id) => backend.counts.has(id)), DEADLINE);
  assert.deepEqual(backend.duplicates(), [], 'no span arrived twice');
  assert.equal(backend.counts.size, ids.length, 'nothing else arrived');
}

// The backend records a request before the agent has read the answer: wait for the counters.
const countersOnce = (a, cond) => waitFor('the exporter counters', async () => { const c = await a.counters(); return cond(c) && c; }, DEADLINE);

const gapMs = (reqs, i) => reqs[i].t - reqs[i - 1].t;
const delay = (ms) => new Promise((r) => setTimeout(r, ms));

describe('exporter faults', { concurrency: true }, () => {
  test('backend down for 20 s, then back: every span arrives once and the counters agree', async () => {
    const [port] = await freePorts(1);      // nothing listens there yet
    const a = await startAgent('otlp', `
endpoint: 127.0.0.1:${port}
tls: {insecure: true}
timeout: 1s
sending_queue: {num_consumers: 1}
retry_on_failure: {initial_interval: 200ms, max_interval: 1s, max_elapsed_time: 120s}`);
    const backend = new GrpcTraceBackend();
    try {
      const ids = [];
      for (let i = 0; i < 3; i++) {
        const r = await postSpans(a, 10, `outage-${i}`);
        assert.equal(r.status, 200);
        ids.push(...r.ids);
      }
      await a.agent.waitLog(/sending 10 spans failed/, DEADLINE);
      await delay(10000);
      // Halfway through the outage: nothing sent, nothing given up on; one batch is being retried
      // by the only consumer and two wait in the queue.
      let c = await a.counters();
      assert.deepEqual([c.sent, c.failed, c.enqueueFailed, c.queue], [0, 0, 0, 2], JSON.stringify(c));
      for (let i = 3; i < 5; i++) {
        const r = await postSpans(a, 10, `outage-${i}`);
        assert.equal(r.status, 200);
        ids.push(...r.ids);
      }
      await delay(10000);
      c = await a.counters();
      assert.deepEqual([c.sent, c.failed, c.enqueueFailed, c.queue], [0, 0, 0, 4], JSON.stringify(c));
      await backend.listen(port);
      await allArrivedOnce(backend, ids, 'after the outage');
      c = await countersOnce(a, (x) => x.sent >= 50 && x.queue === 0);
      assert.deepEqual(c, { sent: 50, sentPoints: 0, sentLogs: 0, failed: 0, failedOther: 0, enqueueFailed: 0, queue: 0 });
      assert.equal(backend.requests.length, 5, 'one successful call per batch, no extra ones');
    } finally {
      backend.close();
      await stop(a);
    }
  });

  test('HTTP 400: permanent, logged with the backend message, counted, not retried', async () => {
    // google.rpc.Status { code: 3, message: "span 0 has a bad trace id ✗" }
    const status = Buffer.concat([pbVarint(1 << 3), pbVarint(3), pbLen(2, Buffer.from('span 0 has a bad trace id ✗'))]);
    const backend = new HttpTraceBackend(() => ({ status: 400, headers: { 'content-type': 'application/x-protobuf' }, body: status }));
    await backend.listen();
    const a = await startAgent('otlphttp', `endpoint: http://127.0.0.1:${backend.port}\nencoding: json\n${QUICK_RETRY}`);
    try {
      const r = await postSpans(a, 4, 'http-400');
      assert.equal(r.status, 200, 'the agent took the data: the failure is the exporter\'s');
      const c = await countersOnce(a, (x) => x.failed > 0);
      assert.deepEqual([c.sent, c.failed, c.queue], [0, 4, 0]);
      await a.agent.waitLog(/HTTP 400: span 0 has a bad trace id ✗/, DEADLINE);
      await delay(1000);       // ten retry intervals: a retry would have come by now
      assert.equal(backend.requests.length, 1, 'the backend saw exactly one request');
    } finally {
      await backend.close();
      await stop(a);
    }
  });

  test('gRPC INVALID_ARGUMENT: permanent, logged, not retried', async () => {
    const backend = new GrpcTraceBackend(() => ({ code: GRPC.INVALID_ARGUMENT, details: 'span kind 9 is not a kind' }));
    await backend.listen();
    const a = await startAgent('otlp', `endpoint: 127.0.0.1:${backend.port}\ntls: {insecure: true}\n${QUICK_RETRY}`);
    try {
      await postSpans(a, 3, 'grpc-invalid');
      const c = await countersOnce(a, (x) => x.failed > 0);
      assert.deepEqual([c.sent, c.failed, c.queue], [0, 3, 0]);
      await a.agent.waitLog(/code = InvalidArgument desc = span kind 9 is not a kind/, DEADLINE);
      await delay(1000);
      assert.equal(backend.requests.length, 1, 'the backend saw exactly one call');
    } finally {
      backend.close();
      await stop(a);
    }
  });

  test('HTTP 503 with Retry-After: 2: the retry waits 2 s, then succeeds', async () => {
    const backend = new HttpTraceBackend((req, n) => (n === 0
      ? { status: 503, headers: { 'retry-after': '2', 'content-type': 'text/plain' }, body: 'busy, come back later' }
      : undefined));
    await backend.listen();
    const a = await startAgent('otlp_http', `endpoint: http://127.0.0.1:${backend.port}\nencoding: json\n${QUICK_RETRY}`);
    try {
      const r = await postSpans(a, 5, 'http-503');
      await allArrivedOnce(backend, r.ids, 'after the 503');
      assert.equal(backend.requests.length, 2);
      const gap = gapMs(backend.requests, 1);
      assert.ok(gap >= 1990 && gap < 3500, `the retry came ${gap} ms after the 503 (Retry-After: 2; backoff alone: 100 ms)`);
      const c = await countersOnce(a, (x) => x.sent >= 5);
      assert.deepEqual([c.sent, c.failed, c.queue], [5, 0, 0]);
      assert.match(a.agent.stderr, /HTTP 503: busy, come back later/);
    } finally {
      await backend.close();
      await stop(a);
    }
  });

  test('gRPC UNAVAILABLE and RESOURCE_EXHAUSTED with RetryInfo: the delays asked for are honoured', async () => {
    const backend = new GrpcTraceBackend((req, n) => {
      if (n === 0) return { code: GRPC.UNAVAILABLE, details: 'draining', statusDetails: retryInfoStatus(GRPC.UNAVAILABLE, 'draining', 2) };
      if (n === 1) return { code: GRPC.RESOURCE_EXHAUSTED, details: 'over quota', statusDetails: retryInfoStatus(GRPC.RESOURCE_EXHAUSTED, 'over quota', 1) };
      return undefined;
    });
    await backend.listen();
    const a = await startAgent('otlp_grpc', `endpoint: 127.0.0.1:${backend.port}\ntls: {insecure: true}\n${QUICK_RETRY}`);
    try {
      const r = await postSpans(a, 6, 'grpc-retryinfo');
      await allArrivedOnce(backend, r.ids, 'after two refusals');
      assert.equal(backend.requests.length, 3);
      const g1 = gapMs(backend.requests, 1), g2 = gapMs(backend.requests, 2);
      assert.ok(g1 >= 1990 && g1 < 3500, `UNAVAILABLE with RetryInfo 2s: retried after ${g1} ms`);
      assert.ok(g2 >= 990 && g2 < 2500, `RESOURCE_EXHAUSTED with RetryInfo 1s: retried after ${g2} ms`);
      const c = await countersOnce(a, (x) => x.sent >= 6);
      assert.deepEqual([c.sent, c.failed, c.queue], [6, 0, 0]);
    } finally {
      backend.close();
      await stop(a);
    }
  });

  test('partial success over HTTP (JSON) and gRPC: logged with the backend message, counted as sent; headers sent', async () => {
    const httpBackend = new HttpTraceBackend(() => ({
      status: 200, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ partialSuccess: { rejectedSpans: '2', errorMessage: 'two spans are too old' } }),
    }));
    await httpBackend.listen();
    const grpcBackend = new GrpcTraceBackend(() => ({ response: { partial_success: { rejected_spans: 1, error_message: 'one span has no name' } } }));
    await grpcBackend.listen();
    const headers = 'headers: {x-tenant: acme, authorization: "Bearer t0k3n"}';
    const h = await startAgent('otlphttp', `endpoint: http://127.0.0.1:${httpBackend.port}\nencoding: json\n${headers}\n${QUICK_RETRY}`);
    const g = await startAgent('otlp', `endpoint: 127.0.0.1:${grpcBackend.port}\ntls: {insecure: true}\n${headers}\n${QUICK_RETRY}`);
    try {
      await postSpans(h, 4, 'partial-http');
      await postSpans(g, 3, 'partial-grpc');
      await h.agent.waitLog(/otlphttp\s.*partial success: the backend rejected 2 spans: two spans are too old/, DEADLINE);
      await g.agent.waitLog(/otlp\s.*partial success: the backend rejected 1 spans: one span has no name/, DEADLINE);
      const ch = await countersOnce(h, (x) => x.sent >= 4);
      const cg = await countersOnce(g, (x) => x.sent >= 3);
      assert.deepEqual([ch.sent, ch.failed, cg.sent, cg.failed], [4, 0, 3, 0]);
      assert.deepEqual([httpBackend.requests.length, grpcBackend.requests.length], [1, 1], 'not retried');
      const hh = httpBackend.requests[0].headers;
      assert.deepEqual([hh['x-tenant'], hh.authorization, hh['content-type'], hh['content-encoding']],
        ['acme', 'Bearer t0k3n', 'application/json', 'gzip']);
      assert.match(hh['user-agent'], /^ocagent\//);
      const md = grpcBackend.requests[0].metadata;
      assert.deepEqual([md['x-tenant'], md.authorization], ['acme', 'Bearer t0k3n']);
    } finally {
      await httpBackend.close();
      grpcBackend.close();
      await stop(h);
      await stop(g);
    }
  });

  test('a backend that accepts the connection and never answers: each attempt times out and is retried', async () => {
    const backend = new HttpTraceBackend((req, n) => (n < 2 ? 'stall' : undefined));
    await backend.listen();
    const a = await startAgent('otlphttp', `endpoint: http://127.0.0.1:${backend.port}\nencoding: json\ntimeout: 500ms\n${QUICK_RETRY}`);
    try {
      const r = await postSpans(a, 7, 'http-stall');
      await allArrivedOnce(backend, r.ids, 'after two stalled attempts');
      assert.equal(backend.requests.length, 3);
      for (const i of [1, 2]) {
        const gap = gapMs(backend.requests, i);
        // The attempt is timed from its start, the backend stamps the arrival of its body: a little
        // less than the 500 ms + 100 ms backoff can show here, far more than the 100 ms of a quick failure.
        assert.ok(gap >= 450 && gap < 3000, `attempt ${i + 1} came ${gap} ms after attempt ${i} (timeout 500ms + backoff)`);
      }
      assert.match(a.agent.stderr, /timed out/);
      const c = await countersOnce(a, (x) => x.sent >= 7);
      assert.deepEqual([c.sent, c.failed, c.queue], [7, 0, 0]);
    } finally {
      await backend.close();
      await stop(a);
    }
  });

  test('queue full: the receiver answers 503 / UNAVAILABLE, and the senders deliver later', async () => {
    let release;
    const released = new Promise((r) => { release = r; });
    const backend = new HttpTraceBackend(async () => { await released; });
    await backend.listen();
    const a = await startAgent('otlphttp', `
endpoint: http://127.0.0.1:${backend.port}
encoding: json
timeout: 60s
sending_queue: {num_consumers: 1, queue_size: 2}
${QUICK_RETRY}`);
    try {
      // One batch being sent (the backend holds it), two waiting: the queue is full.
      const first = await postSpans(a, 5, 'full-0');
      assert.equal(first.status, 200);
      await waitFor('the first request at the backend', () => backend.requests.length === 1, DEADLINE);
      const queued = [await postSpans(a, 5, 'full-1'), await postSpans(a, 5, 'full-2')];
      assert.deepEqual(queued.map((q) => q.status), [200, 200]);
      const refusedReq = uniqueSpans(5, 'full-3');
      const refused = await post(a, refusedReq);
      assert.equal(refused.status, 503, 'a full queue is refused with 503');
      assert.ok(refused.headers['retry-after'], 'with a Retry-After');
      // The SDK's HTTP exporter is refused too and retries on its own (after Retry-After).
      const tee = new Tee(traceExporter('http/protobuf', { port: a.httpPort, timeoutMillis: 20000 }));
      const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'queue-full-sdk' }), spanProcessors: [new SimpleSpanProcessor(tee)] });
      const span = provider.getTracer('t').startSpan('sdk-span');
      span.end();
      const flushed = provider.forceFlush();
      await waitFor('the SDK refused once', async () => (await receiverCounter(a.metricsPort, 'otelcol_receiver_refused_spans')) >= 6, DEADLINE);
      // The gRPC receiver refuses with UNAVAILABLE.
      const grpcTee = new Tee(traceExporter('grpc', { port: a.grpcPort, timeoutMillis: 5000 }));
      const grpcResult = await new Promise((resolve) => grpcTee.export([span], resolve));
      assert.equal(grpcResult.code, 1, 'the gRPC export failed');
      assert.match(String(grpcResult.error?.message ?? grpcResult.error), /UNAVAILABLE|14/);
      let c = await a.counters();
      assert.ok(c.enqueueFailed >= 7, `enqueue_failed counts the refused spans (${JSON.stringify(c)})`);
      release();
      await flushed;
      await provider.shutdown();
      assert.deepEqual(tee.failures(), [], 'the SDK delivered on its retry');
      // The client re-sends what was refused, and now it is taken.
      const resent = await post(a, refusedReq);
      assert.equal(resent.status, 200);
      const sdkId = span.spanContext().spanId;
      await allArrivedOnce(backend, [...first.ids, ...queued.flatMap((q) => q.ids), ...resent.ids, sdkId], 'after the release');
      c = await countersOnce(a, (x) => x.sent >= 21);
      assert.deepEqual([c.sent, c.failed, c.queue], [21, 0, 0]);
    } finally {
      release();
      await backend.close();
      await stop(a);
    }
  });
});
