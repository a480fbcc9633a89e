// Builds OTLP/JSON export requests with every field kind the data model has, and flattens requests
// into items (span, metric data point, log record) paired with their resource and scope, so that
// what went into the agent can be compared with what came out however the batch processor
// regrouped it.

let seed = 12345;
function rand() { seed = (seed * 1103515245 + 12345) % 2147483648; return seed; }
function hex(bytes) { let s = ''; for (let i = 0; i < bytes; i++) s += (rand() % 256).toString(16).padStart(2, '0'); return s; }

// Every AnyValue kind, including the extremes the spec calls out.
export function richAttributes(tag) {
  return [
    { key: 'str', value: { stringValue: `héllo wörld ✓ ${tag} "quoted" \\ \n\t` } },
    { key: 'int.max', value: { intValue: '9223372036854775807' } },
    { key: 'int.min', value: { intValue: '-9223372036854775808' } },
    { key: 'int.zero', value: { intValue: '0' } },
    { key: 'double', value: { doubleValue: 3.141592653589793 } },
    { key: 'double.tiny', value: { doubleValue: 5e-324 } },
    { key: 'bool', value: { boolValue: true } },
    { key: 'bool.false', value: { boolValue: false } },
    { key: 'bytes', value: { bytesValue: Buffer.from([0, 1, 2, 250, 255]).toString('base64') } },
    { key: 'array', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '-1' }, { doubleValue: 2.5 }] } } },
    { key: 'kvlist', value: { kvlistValue: { values: [{ key: 'inner', value: { kvlistValue: { values: [{ key: 'deep', value: { boolValue: true } }] } } }] } } },
  ];
}

const resource = (name) => ({ attributes: [{ key: 'service.name', value: { stringValue: name } }, ...richAttributes(name).slice(0, 3)], droppedAttributesCount: 1 });
const scope = (name) => ({ name, version: '1.2.3', attributes: [{ key: 'scope.attr', value: { stringValue: name } }] });

export function traceRequest(n, tag) {
  const spans = [];
  for (let i = 0; i < n; i++) {
    const traceId = hex(16);
    spans.push({
      traceId, spanId: hex(8), parentSpanId: hex(8), traceState: 'k=v', flags: 257,
      name: `span-${tag}-${i}`, kind: 1 + (i % 5),
      startTimeUnixNano: String(1700000000000000000n + BigInt(i)), endTimeUnixNano: String(1700000000000001000n + BigInt(i)),
      attributes: richAttributes(`${tag}-${i}`), droppedAttributesCount: 2,
      events: [{ timeUnixNano: '1700000000000000500', name: 'event', attributes: [{ key: 'e', value: { intValue: '7' } }], droppedAttributesCount: 1 }],
      droppedEventsCount: 3,
      links: [{ traceId: hex(16), spanId: hex(8), traceState: 'a=b', attributes: [{ key: 'l', value: { boolValue: true } }], droppedAttributesCount: 4, flags: 1 }],
      droppedLinksCount: 5,
      status: { message: 'boom', code: 2 },
    });
  }
  return { resourceSpans: [{ resource: resource(`svc-${tag}`), scopeSpans: [{ scope: scope(`lib-${tag}`), spans, schemaUrl: 'https://opentelemetry.io/schemas/1.21.0' }], schemaUrl: 'https://opentelemetry.io/schemas/1.21.0' }] };
}

export function metricRequest(tag) {
  const t0 = '1700000000000000000', t1 = '1700000010000000000';
  const attrs = [{ key: 'host', value: { stringValue: tag } }];
  const exemplar = { filteredAttributes: [{ key: 'x', value: { stringValue: 'y' } }], timeUnixNano: t1, asDouble: 1.5, spanId: hex(8), traceId: hex(16) };
  const metrics = [
    { name: `gauge.${tag}`, description: 'a gauge', unit: '1', gauge: { dataPoints: [{ attributes: attrs, timeUnixNano: t1, asDouble: 0.25 }, { attributes: attrs, startTimeUnixNano: t0, timeUnixNano: t1, asInt: '-42', flags: 1 }] } },
    { name: `sum.${tag}`, unit: 'By', sum: { dataPoints: [{ attributes: attrs, startTimeUnixNano: t0, timeUnixNano: t1, asInt: '9223372036854775807', exemplars: [exemplar] }], aggregationTemporality: 2, isMonotonic: true } },
    { name: `hist.${tag}`, unit: 'ms', histogram: { dataPoints: [{ attributes: attrs, startTimeUnixNano: t0, timeUnixNano: t1, count: '10', sum: 55.5, bucketCounts: ['1', '2', '3', '4'], explicitBounds: [1, 5, 10], exemplars: [exemplar], min: 0.5, max: 20 }, { timeUnixNano: t1, count: '1', bucketCounts: ['1'] }], aggregationTemporality: 1 } },
    { name: `exphist.${tag}`, exponentialHistogram: { dataPoints: [{ attributes: attrs, startTimeUnixNano: t0, timeUnixNano: t1, count: '6', sum: 12, scale: -2, zeroCount: '1', positive: { offset: -3, bucketCounts: ['1', '2'] }, negative: { offset: 2, bucketCounts: ['2'] }, min: -4, max: 8, zeroThreshold: 0.001 }], aggregationTemporality: 2 } },
    { name: `summary.${tag}`, summary: { dataPoints: [{ attributes: attrs, startTimeUnixNano: t0, timeUnixNano: t1, count: '3', sum: 6, quantileValues: [{ quantile: 0.5, value: 2 }, { quantile: 1, value: 3 }] }] } },
  ];
  return { resourceMetrics: [{ resource: resource(`svc-${tag}`), scopeMetrics: [{ scope: scope(`meter-${tag}`), metrics }] }] };
}

export function logRequest(n, tag) {
  const logRecords = [];
  for (let i = 0; i < n; i++) {
    logRecords.push({
      timeUnixNano: String(1700000000000000000n + BigInt(i)), observedTimeUnixNano: '1700000000000000999',
      severityNumber: 9 + (i % 12), severityText: 'INFO',
      body: i % 2 ? { stringValue: `log line ${tag} ${i} ✓` } : { kvlistValue: { values: [{ key: 'msg', value: { stringValue: 'structured' } }] } },
      attributes: richAttributes(`${tag}-${i}`), droppedAttributesCount: 1, flags: 1,
      traceId: hex(16), spanId: hex(8), eventName: 'my.event',
    });
  }
  return { resourceLogs: [{ resource: resource(`svc-${tag}`), scopeLogs: [{ scope: scope(`logger-${tag}`), logRecords }] }] };
}

// [{resource, scope, item}] for every item in a list of requests, in order.
export function flatten(requests) {
  const out = [];
  for (const req of requests) {
    for (const [rkey, skey, ikey] of [['resourceSpans', 'scopeSpans', 'spans'], ['resourceMetrics', 'scopeMetrics', 'metrics'], ['resourceLogs', 'scopeLogs', 'logRecords']]) {
      for (const r of req[rkey] ?? []) {
        for (const s of r[skey] ?? []) {
          for (const item of s[ikey] ?? []) {
            out.push({ resource: r.resource, resourceSchemaUrl: r.schemaUrl, scope: s.scope, scopeSchemaUrl: s.schemaUrl, item });
          }
        }
      }
    }
  }
  return out;
}

// Metrics are compared by data point: a metric split across batches still carries every point.
export function flattenPoints(requests) {
  const out = [];
  for (const { resource, scope, item } of flatten(requests)) {
    const { name, description, unit, metadata } = item;
    for (const kind of ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary']) {
      if (!item[kind]) continue;
      const { dataPoints, ...rest } = item[kind];
      for (const p of dataPoints ?? []) out.push({ resource, scope, metric: { name, description, unit, metadata, kind, ...rest }, point: p });
    }
  }
  return out;
}
