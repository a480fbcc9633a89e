// Backpressure: with a tiny service.memory_budget and a batch processor that holds what it was
// given for a while, a burst from the SDK is partly refused with a retryable status (HTTP 503 with
// Retry-After, gRPC UNAVAILABLE with RetryInfo), never with a crash or a hang, and every span is
// delivered once the burst has passed: by the SDK's own retry over HTTP, by the application
// re-exporting over gRPC (the JS gRPC exporter does not retry). The agent's own counters then
// add up: accepted + refused = attempted, and exporter sent = what the file holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { Agent, readJsonLines, tempDir, waitFor } from './lib/agent.mjs';
import { flatten } from './lib/otlp.mjs';
import { decodeStatus, freePorts, httpRequest, parseProm, pbFields, promSum, waitListening } from './lib/net.mjs';
import { traceExporter } from './lib/sdk.mjs';

const DEADLINE = 60000;
const BUDGET = 256 * 1024;
const EXPORTS = 12;          // concurrent export calls in one burst
const SPANS = 20;            // spans per export call
const GRPC_UNAVAILABLE = 14;

// The batch processor holds everything for 500 ms, so the budget stays spent through the burst
// (all requests are sent at once) and is free again before a retry after Retry-After: 1.
function config(dir, p) {
  return `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${p.grpc}
      http:
        endpoint: 127.0.0.1:${p.http}
processors:
  batch:
    send_batch_size: 1000000
    timeout: 500ms
exporters:
  file:
    path: ${dir}/out.jsonl
    flush_interval: 0s
service:
  memory_budget: ${BUDGET}
  telemetry:
    logs:
      level: debug
    metrics:
      address: 127.0.0.1:${p.metrics}
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [file]
`;
}

// EXPORTS x SPANS finished SDK spans, each with a 1 KiB attribute so that one request is about
// 25 KiB of protobuf and a few of them spend the budget.
function makeSpanChunks(tag) {
  const mem = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': `burst-${tag}` }),
    spanProcessors: [new SimpleSpanProcessor(mem)],
  });
  const tracer = provider.getTracer('burst');
  for (let i = 0; i < EXPORTS * SPANS; i++) tracer.startSpan(`${tag}-${i}`, { attributes: { pad: 'p'.repeat(1024), i } }).end();
  const spans = mem.getFinishedSpans();
  assert.equal(spans.length, EXPORTS * SPANS);
  const chunks = [];
  for (let i = 0; i < EXPORTS; i++) chunks.push(spans.slice(i * SPANS, (i + 1) * SPANS));
  return chunks;
}

const exportOnce = (exporter, spans) => new Promise((resolve) => exporter.export(spans, resolve));

// The agent's own metrics, or null while the endpoint does not answer.
async function metrics(port) {
  const r = await httpRequest({ port, method: 'GET', path: '/metrics' });
  return r.status === 200 ? parseProm(r.body.toString('utf8')) : null;
}

function arrivedNames(out, tag) {
  return flatten(readJsonLines(out)).map((x) => x.item.name).filter((n) => n.startsWith(`${tag}-`));
}

test('a burst over the memory budget is refused retryably and delivered by retries; the counters add up', async (t) => {
  const dir = tempDir('ocagent-bp-');
  const [grpcPort, httpPort, metricsPort] = await freePorts(3);
  const out = path.join(dir, 'out.jsonl');
  const agent = new Agent(config(dir, { grpc: grpcPort, http: httpPort, metrics: metricsPort }), { dir });
  try {
    await agent.started();
    await waitListening([grpcPort, httpPort], agent);

    // HTTP: the SDK retries 503 after Retry-After by itself. Every attempt is seen by our agent.
    const attempts = [];
    const httpAgent = new http.Agent({ keepAlive: true });
    const addRequest = httpAgent.addRequest.bind(httpAgent);
    httpAgent.addRequest = (req, opts) => {
      const a = { status: null, retryAfter: null };
      attempts.push(a);
      req.on('response', (res) => { a.status = res.statusCode; a.retryAfter = res.headers['retry-after']; });
      return addRequest(req, opts);
    };
    const httpExporter = traceExporter('http/protobuf', { port: httpPort, timeoutMillis: DEADLINE, httpAgentOptions: () => httpAgent });
    const httpChunks = makeSpanChunks('http');
    const results = await Promise.all(httpChunks.map((c) => exportOnce(httpExporter, c)));
    assert.deepEqual(results.map((r) => r.code), results.map(() => 0), `every export succeeded in the end: ${results.map((r) => r.error).filter(Boolean)}`);
    agent.assertAlive();
    const refused = attempts.filter((a) => a.status === 503);
    assert.ok(refused.length > 0, `some of the burst was refused (statuses: ${attempts.map((a) => a.status)})`);
    assert.deepEqual([...new Set(attempts.map((a) => a.status))].sort(), [200, 503], 'only 200 and 503 were answered');
    for (const a of refused) assert.match(a.retryAfter ?? '', /^\d+$/, '503 carries Retry-After in seconds');
    assert.equal(attempts.filter((a) => a.status === 200).length, EXPORTS, 'each export was accepted exactly once');
    t.diagnostic(`HTTP: ${attempts.length} requests for ${EXPORTS} exports, ${refused.length} answered 503`);
    await waitFor('every HTTP span in the file', () => arrivedNames(out, 'http').length >= EXPORTS * SPANS, DEADLINE);
    httpExporter.shutdown();
    httpAgent.destroy();

    // gRPC: UNAVAILABLE with a RetryInfo detail; the application waits that long and re-exports.
    const grpcExporter = traceExporter('grpc', { port: grpcPort, timeoutMillis: DEADLINE });
    let grpcAttempts = 0, grpcRefused = 0;
    const sendWithRetry = async (spans) => {
      for (let round = 0; round < 20; round++) {
        grpcAttempts++;
        const r = await exportOnce(grpcExporter, spans);
        if (r.code === 0) return;
        assert.equal(r.error?.code, GRPC_UNAVAILABLE, `a refusal is UNAVAILABLE: ${r.error}`);
        grpcRefused++;
        const details = r.error.metadata?.get('grpc-status-details-bin')?.[0];
        assert.ok(details, 'UNAVAILABLE carries grpc-status-details-bin');
        const st = decodeStatus(Buffer.from(details));
        assert.equal(st.code, GRPC_UNAVAILABLE);
        const info = st.details.find((d) => d.typeUrl === 'type.googleapis.com/google.rpc.RetryInfo');
        assert.ok(info, `RetryInfo in the status details (${st.details.map((d) => d.typeUrl)})`);
        // RetryInfo { Duration retry_delay = 1 { int64 seconds = 1; int32 nanos = 2; } }
        const delay = pbFields(info.value).find((f) => f.field === 1);
        let ms = 0;
        for (const f of pbFields(delay?.value ?? Buffer.alloc(0))) ms += f.field === 1 ? Number(f.value) * 1000 : Number(f.value) / 1e6;
        assert.ok(ms > 0 && ms <= 60000, `retry delay ${ms} ms`);
        await new Promise((resolve) => setTimeout(resolve, ms)); // the delay the agent asked for
      }
      throw new Error('still refused after 20 rounds');
    };
    await Promise.all(makeSpanChunks('grpc').map(sendWithRetry));
    agent.assertAlive();
    t.diagnostic(`gRPC: ${grpcAttempts} requests for ${EXPORTS} exports, ${grpcRefused} answered UNAVAILABLE`);
    assert.ok(grpcRefused > 0, 'some of the gRPC burst was refused');
    await waitFor('every gRPC span in the file', () => arrivedNames(out, 'grpc').length >= EXPORTS * SPANS, DEADLINE);
    grpcExporter.shutdown();

    // Every span arrived exactly once.
    for (const tag of ['http', 'grpc']) {
      const names = arrivedNames(out, tag);
      assert.equal(names.length, EXPORTS * SPANS, `${tag}: no span arrived twice`);
      assert.equal(new Set(names).size, EXPORTS * SPANS);
    }

    // The agent's own counters.
    const total = 2 * EXPORTS * SPANS;
    const attempted = (attempts.length + grpcAttempts) * SPANS;
    const inFile = flatten(readJsonLines(out)).length;
    const m = await waitFor('the exporter counter to catch up', async () => {
      const s = await metrics(metricsPort);
      return s && promSum(s, 'otelcol_exporter_sent_spans', { exporter: 'file' }) >= inFile && s;
    }, DEADLINE);
    const accepted = promSum(m, 'otelcol_receiver_accepted_spans', { receiver: 'otlp' });
    const refusedSpans = promSum(m, 'otelcol_receiver_refused_spans', { receiver: 'otlp' });
    assert.equal(inFile, total);
    assert.equal(promSum(m, 'otelcol_exporter_sent_spans', { exporter: 'file' }), inFile, 'exporter sent = spans in the file');
    assert.equal(accepted, total, 'accepted spans = spans delivered');
    assert.equal(promSum(m, 'otelcol_ocagent_memory_budget_refusals_total'), refused.length + grpcRefused, 'the budget counted each refusal');
    assert.equal(accepted + refusedSpans, attempted,
      `accepted (${accepted}) + refused (${refusedSpans}) = spans in all attempts (${attempted}: ${attempts.length} HTTP and ${grpcAttempts} gRPC requests of ${SPANS})`);
  } finally {
    const r = await agent.stop();
    assert.equal(r.code, 0, agent.stderr);
  }
});
