// The official OpenTelemetry JS SDK as the agent's client: exporters for every transport
// (grpc, http/protobuf, http/json), providers that record what they handed to the exporter, and
// the OTLP/JSON each recorded item must come out of the file exporter as. The expectations are
// derived here from the SDK's own objects (ids, hrTime timestamps, kinds, attributes) by the OTLP
// data model's rules, independently of the SDK's serializers.
import { credentials as grpcCredentials } from '@grpc/grpc-js';
import { OTLPTraceExporter as TraceGrpc } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as TraceJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as TraceProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPMetricExporter as MetricGrpc } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as MetricJson, AggregationTemporalityPreference } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as MetricProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPLogExporter as LogGrpc } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as LogJson } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as LogProto } from '@opentelemetry/exporter-logs-otlp-proto';

export { AggregationTemporalityPreference };
export const TRANSPORTS = ['grpc', 'http/protobuf', 'http/json'];

// Options for one exporter: url, compression, TLS material and a timeout. tls: { ca, cert, key }
// as PEM buffers (cert and key only for mTLS).
function exporterOptions(transport, signal, { host = '127.0.0.1', port, compression = 'none', tls, timeoutMillis = 20000, httpAgentOptions }) {
  const scheme = tls ? 'https' : 'http';
  if (transport === 'grpc') {
    const o = { url: `${scheme}://${host}:${port}`, compression, timeoutMillis };
    if (tls) o.credentials = grpcCredentials.createSsl(tls.ca, tls.key ?? null, tls.cert ?? null);
    return o;
  }
  const o = { url: `${scheme}://${host}:${port}/v1/${signal}`, compression, timeoutMillis };
  if (httpAgentOptions) o.httpAgentOptions = httpAgentOptions;
  else if (tls) o.httpAgentOptions = { ca: tls.ca, cert: tls.cert, key: tls.key, keepAlive: true };
  return o;
}

export function traceExporter(transport, opts) {
  const C = { grpc: TraceGrpc, 'http/protobuf': TraceProto, 'http/json': TraceJson }[transport];
  return new C(exporterOptions(transport, 'traces', opts));
}

export function metricExporter(transport, opts, temporality = AggregationTemporalityPreference.CUMULATIVE) {
  const C = { grpc: MetricGrpc, 'http/protobuf': MetricProto, 'http/json': MetricJson }[transport];
  return new C({ ...exporterOptions(transport, 'metrics', opts), temporalityPreference: temporality });
}

export function logExporter(transport, opts) {
  const C = { grpc: LogGrpc, 'http/protobuf': LogProto, 'http/json': LogJson }[transport];
  return new C(exporterOptions(transport, 'logs', opts));
}

// Wraps an exporter: remembers every item it was given and every export result (the SDK reports
// failures only through the result), and lets a test wait until all exports have finished.
export class Tee {
  constructor(inner) {
    this.inner = inner;
    this.items = [];
    this.results = [];
    this.pending = 0;
    if (inner.selectAggregationTemporality) this.selectAggregationTemporality = inner.selectAggregationTemporality.bind(inner);
    if (inner.selectAggregation) this.selectAggregation = inner.selectAggregation.bind(inner);
  }
  // Spans and log records come as arrays, metrics as one ResourceMetrics.
  export(items, cb) {
    if (Array.isArray(items)) this.items.push(...items); else this.items.push(items);
    this.pending++;
    this.inner.export(items, (r) => { this.pending--; this.results.push(r); cb(r); });
  }
  forceFlush() { return this.inner.forceFlush?.() ?? Promise.resolve(); }
  shutdown() { return this.inner.shutdown(); }
  failures() { return this.results.filter((r) => r.code !== 0); }
}

// hrTime [seconds, nanoseconds] -> decimal string of Unix nanoseconds.
export function nanos(hr) {
  return (BigInt(Math.trunc(hr[0])) * 1000000000n + BigInt(Math.trunc(hr[1]))).toString();
}

const INT64_MIN = -(2n ** 63n), INT64_MAX = 2n ** 63n - 1n;

// The AnyValue a JS value must arrive as. Over http/json the SDK writes integers as JSON numbers
// in JavaScript's shortest form (2**62 as 4611686018427388000), and that decimal is the value the
// agent receives; over protobuf the exact integer travels.
export function anyValue(v, json) {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= -(2 ** 63) && v < 2 ** 63) {
      const i = json ? BigInt(JSON.stringify(v)) : BigInt(v);
      if (i < INT64_MIN || i > INT64_MAX) throw new Error(`${v} cannot travel as an int64 over JSON`);
      return { intValue: i.toString() };
    }
    return { doubleValue: v };
  }
  if (v instanceof Uint8Array) return { bytesValue: Buffer.from(v).toString('base64') };
  if (Array.isArray(v)) return { arrayValue: v.length ? { values: v.map((x) => anyValue(x, json)) } : {} };
  if (v && typeof v === 'object') {
    const keys = Object.keys(v);
    return { kvlistValue: keys.length ? { values: keys.map((k) => ({ key: k, value: anyValue(v[k], json) })) } : {} };
  }
  return {};
}

export function attributes(obj, json) {
  const keys = Object.keys(obj ?? {});
  return keys.length ? keys.map((k) => ({ key: k, value: anyValue(obj[k], json) })) : undefined;
}

// Drops what proto3 JSON leaves out: undefined, zero numbers, empty strings, empty lists.
function compact(o) {
  const out = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === 0 || v === '' || v === false || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = v;
  }
  return out;
}

const FLAGS_HAS_IS_REMOTE = 0x100, FLAGS_IS_REMOTE = 0x200;
const spanFlags = (traceFlags, isRemote) => (traceFlags & 0xff) | FLAGS_HAS_IS_REMOTE | (isRemote ? FLAGS_IS_REMOTE : 0);

export function expectedResource(resource, json) {
  return compact({ attributes: attributes(resource.attributes, json) });
}

export function expectedScope(scope) {
  return compact({ name: scope.name, version: scope.version });
}

// A finished SDK span (ReadableSpan) as the OTLP/JSON span the file exporter writes.
export function expectedSpan(span, json) {
  const ctx = span.spanContext();
  const status = compact({ code: span.status.code, message: span.status.message });
  return compact({
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    traceState: ctx.traceState?.serialize(),
    name: span.name,
    kind: span.kind + 1,
    startTimeUnixNano: nanos(span.startTime),
    endTimeUnixNano: nanos(span.endTime),
    attributes: attributes(span.attributes, json),
    droppedAttributesCount: span.droppedAttributesCount,
    events: span.events.map((e) => compact({
      timeUnixNano: nanos(e.time), name: e.name, attributes: attributes(e.attributes, json),
      droppedAttributesCount: e.droppedAttributesCount,
    })),
    droppedEventsCount: span.droppedEventsCount,
    links: span.links.map((l) => compact({
      traceId: l.context.traceId, spanId: l.context.spanId, traceState: l.context.traceState?.serialize(),
      attributes: attributes(l.attributes, json), droppedAttributesCount: l.droppedAttributesCount,
      flags: spanFlags(l.context.traceFlags, l.context.isRemote),
    })),
    droppedLinksCount: span.droppedLinksCount,
    status: Object.keys(status).length ? status : undefined,
    flags: spanFlags(ctx.traceFlags, span.parentSpanContext?.isRemote),
  });
}

// An emitted SDK log record (ReadableLogRecord) as OTLP/JSON.
export function expectedLog(rec, json) {
  return compact({
    timeUnixNano: nanos(rec.hrTime),
    observedTimeUnixNano: nanos(rec.hrTimeObserved),
    severityNumber: rec.severityNumber,
    severityText: rec.severityText,
    // Without a body the SDK still writes "body": {} in JSON (an empty AnyValue), which the
    // agent keeps as sent; its protobuf writer leaves the field out.
    body: rec.body === undefined ? (json ? {} : undefined) : anyValue(rec.body, json),
    eventName: rec.eventName,
    attributes: attributes(rec.attributes, json),
    droppedAttributesCount: rec.droppedAttributesCount,
    flags: rec.spanContext?.traceFlags,
    traceId: rec.spanContext?.traceId,
    spanId: rec.spanContext?.spanId,
  });
}

const KIND = ['histogram', 'exponentialHistogram', 'gauge', 'sum']; // sdk-metrics DataPointType order
const TEMPORALITY = [1, 2]; // sdk-metrics AggregationTemporality DELTA=0, CUMULATIVE=1 -> OTLP 1, 2

// The data points of one collected SDK ResourceMetrics, shaped as otlp.mjs flattenPoints() shapes
// the file exporter's output: [{ resource, scope, metric, point }].
export function expectedPoints(rm, json) {
  const out = [];
  for (const sm of rm.scopeMetrics) {
    for (const md of sm.metrics) {
      const kind = KIND[md.dataPointType];
      const metric = {
        name: md.descriptor.name,
        description: md.descriptor.description || undefined,
        unit: md.descriptor.unit || undefined,
        metadata: undefined,
        kind,
      };
      if (kind !== 'gauge') metric.aggregationTemporality = TEMPORALITY[md.aggregationTemporality];
      if (kind === 'sum' && md.isMonotonic) metric.isMonotonic = true;
      for (const dp of md.dataPoints) {
        const base = { attributes: attributes(dp.attributes, json), startTimeUnixNano: nanos(dp.startTime), timeUnixNano: nanos(dp.endTime) };
        let point;
        if (kind === 'sum' || kind === 'gauge') {
          point = compact({ ...base, ...(md.descriptor.valueType === 0 ? { asInt: BigInt(dp.value).toString() } : {}) });
          if (md.descriptor.valueType !== 0) point.asDouble = dp.value;
        } else if (kind === 'histogram') {
          const h = dp.value;
          point = compact({
            ...base, count: String(h.count), sum: h.sum, bucketCounts: h.buckets.counts.map(String),
            explicitBounds: h.buckets.boundaries,
          });
          if (h.min !== undefined) point.min = h.min;
          if (h.max !== undefined) point.max = h.max;
          if (h.sum === 0) point.sum = 0;
        } else {
          const h = dp.value;
          const buckets = (b) => compact({ offset: b.offset, bucketCounts: b.bucketCounts.map(String) });
          point = compact({
            ...base, count: String(h.count), sum: h.sum, scale: h.scale, zeroCount: String(h.zeroCount),
            positive: buckets(h.positive), negative: buckets(h.negative),
          });
          if (h.zeroCount === 0) delete point.zeroCount;
          if (h.min !== undefined) point.min = h.min;
          if (h.max !== undefined) point.max = h.max;
        }
        out.push({ resource: expectedResource(rm.resource, json), scope: expectedScope(sm.scope), metric, point });
      }
    }
  }
  return out;
}

// Proto3 JSON writes a set but empty sub-message as {}; whether an SDK sends an empty status or
// bucket set at all is its choice, so those are compared as absent on both sides.
export function dropEmptyMessages(o) {
  if (Array.isArray(o)) return o.map(dropEmptyMessages);
  if (!o || typeof o !== 'object') return o;
  const out = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    if (['status', 'positive', 'negative'].includes(k) && v && typeof v === 'object' && Object.keys(v).length === 0) continue;
    out[k] = dropEmptyMessages(v);
  }
  return out;
}
