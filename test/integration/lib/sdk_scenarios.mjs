// What the OpenTelemetry JS SDK sends in the integration tests and how its arrival is checked:
// spans of every kind (with links, events, status and attributes of every type), log records with
// every body type, metrics of every instrument in both temporalities, each sent through a Tee, and
// checks that read the file exporter's OTLP/JSON lines until every item has arrived exactly once
// and equals what the SDK recorded, field by field. Shared by the receiver's own test and the
// agent-to-agent chain tests.
import assert from 'node:assert/strict';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, ValueType, createTraceState, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AggregationType, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { readJsonLines, waitFor } from './agent.mjs';
import { flatten, flattenPoints } from './otlp.mjs';
import {
  AggregationTemporalityPreference, Tee, dropEmptyMessages, expectedLog, expectedPoints, expectedResource,
  expectedScope, expectedSpan, logExporter, metricExporter, traceExporter,
} from './sdk.mjs';

// ASan builds are several times slower; every wait has a deadline, none is a sleep.
export const DEADLINE = 30000;

// Attribute values of every type the SDK's span attributes accept. Over http/json the SDK writes
// integers as JavaScript prints them, so -(2**63) (printed as -9223372036854776000, outside int64)
// travels only over protobuf; 2**62 and 2**63-1024 travel over JSON as the decimals JS prints.
// The largest double also travels only over protobuf: for JSON the SDK calls every integral number
// an intValue (1.7976931348623157e+308 included), which the agent rightly refuses with a 400.
export function richAttributes(tag, json) {
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

export function resourceFor(tag, signal) {
  return resourceFromAttributes({
    'service.name': `sdk-${tag}-${signal}`,
    'service.version': '1.2.3-ß',
    'host.cores': 2,
    'deployment.production': false,
    'process.command_args': ['node', '--test'],
  });
}

export const random = (n) => { let s = ''; for (let i = 0; i < n; i++) s += Math.floor(Math.random() * 16).toString(16); return s; };

// Spans of every kind, parent/child, a child of a remote parent (with trace state), status ERROR
// with a message and OK, events with attributes, links to local and remote spans.
export function makeSpans(tracer, tag, json) {
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

export async function sendTraces(transport, tag, opts, json) {
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

export async function sendLogs(transport, tag, opts, json) {
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
export function recordMetrics(meter) {
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

export async function sendMetrics(transport, tag, opts) {
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
export function byService(items, name) {
  return items.filter((x) => x.resource?.attributes?.some((a) => a.key === 'service.name' && a.value.stringValue === name));
}

const canon = (v) => (Array.isArray(v) ? v.map(canon) : v && typeof v === 'object'
  ? Object.fromEntries(Object.keys(v).sort().filter((k) => v[k] !== undefined).map((k) => [k, canon(v[k])])) : v);
const key = (x) => JSON.stringify(canon(dropEmptyMessages(x)));

export async function checkTraces(out, tag, spans, json) {
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

export async function checkLogs(out, tag, records, json) {
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

export async function checkMetrics(out, tag, collected, json) {
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
