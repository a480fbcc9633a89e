// Peers for the OTLP exporters' tests, built on real stacks: an OTLP TraceService on @grpc/grpc-js
// (the project's proto/ loaded with @grpc/proto-loader) and an OTLP/HTTP server on node:http. Each
// records every request it got (arrival time and span ids) and answers as the test's handler says,
// so tests can script outages, errors and stalls. Also: the exporter counters of an agent, read
// from its own metrics endpoint.
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { parseProm, pbLen, pbVarint, promSum } from './net.mjs';

const PROTO = path.resolve('proto');
const loadOpts = { keepCase: true, longs: String, enums: Number, defaults: false, oneofs: true, includeDirs: [PROTO] };
let traceService;
function TraceService() {
  traceService ??= grpc.loadPackageDefinition(
    protoLoader.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto', loadOpts),
  ).opentelemetry.proto.collector.trace.v1.TraceService;
  return traceService;
}

// What every peer keeps: the requests in arrival order and how often each span id arrived.
class Recorder {
  constructor() {
    this.requests = [];         // { t: ms since epoch, spanIds: [hex], headers or metadata }
    this.counts = new Map();    // span id -> times received in a request that was answered OK
  }
  record(spanIds) {
    const r = { t: Date.now(), spanIds };
    this.requests.push(r);
    return r;
  }
  accept(r) { for (const id of r.spanIds) this.counts.set(id, (this.counts.get(id) ?? 0) + 1); }
  // Span ids accepted more than once.
  duplicates() { return [...this.counts].filter(([, n]) => n > 1).map(([id]) => id); }
}

// grpc.status codes the tests use.
export const GRPC = { OK: 0, INVALID_ARGUMENT: 3, RESOURCE_EXHAUSTED: 8, UNAVAILABLE: 14 };

// A google.rpc.Status with one RetryInfo detail asking for a delay of `seconds`, as the bytes of
// grpc-status-details-bin.
export function retryInfoStatus(code, message, seconds) {
  const duration = Buffer.concat([pbVarint(1 << 3), pbVarint(seconds)]);
  const retryInfo = pbLen(1, duration);
  const any = Buffer.concat([pbLen(1, Buffer.from('type.googleapis.com/google.rpc.RetryInfo')), pbLen(2, retryInfo)]);
  return Buffer.concat([pbVarint(1 << 3), pbVarint(code), pbLen(2, Buffer.from(message)), pbLen(3, any)]);
}

// An OTLP TraceService on grpc-js. handler(req, n) (n: the call's index from 0) returns nothing to
// accept the request, { response } to accept it with that ExportTraceServiceResponse, or { code,
// details, statusDetails } to fail it; it may return a promise.
export class GrpcTraceBackend extends Recorder {
  constructor(handler = () => {}) {
    super();
    this.handler = handler;
    this.server = null;
  }
  async listen(port = 0) {
    this.server = new grpc.Server();
    this.server.addService(TraceService().service, {
      Export: async (call, cb) => {
        const ids = [];
        for (const rs of call.request.resource_spans ?? [])
          for (const ss of rs.scope_spans ?? [])
            for (const s of ss.spans ?? []) ids.push(Buffer.from(s.span_id).toString('hex'));
        const r = this.record(ids);
        r.metadata = call.metadata.getMap();
        const fail = await this.handler(call.request, this.requests.length - 1);
        if (!fail || fail.response) {
          this.accept(r);
          cb(null, fail?.response ?? {});
          return;
        }
        const metadata = new grpc.Metadata();
        if (fail.statusDetails) metadata.set('grpc-status-details-bin', fail.statusDetails);
        cb({ code: fail.code, details: fail.details ?? '', metadata });
      },
    });
    this.port = await new Promise((resolve, reject) => {
      this.server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    });
    return this.port;
  }
  close() { this.server?.forceShutdown(); this.server = null; }
}

// An OTLP/HTTP traces endpoint on node:http taking JSON bodies (the exporter under
// test is configured with encoding: json), gzip or not. handler(req, n, res) returns nothing to
// answer 200 with an empty JSON response, { status, headers, body } to answer that, or 'stall' to
// never answer (the socket stays open until close()); it may return a promise.
export class HttpTraceBackend extends Recorder {
  constructor(handler = () => {}) {
    super();
    this.handler = handler;
    this.sockets = new Set();
    this.bodies = [];           // the decoded JSON requests, in order
    this.server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', async () => {
        let raw = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') raw = zlib.gunzipSync(raw);
        const body = JSON.parse(raw.toString('utf8'));
        this.bodies.push({ headers: req.headers, url: req.url, body });
        const ids = [];
        for (const rs of body.resourceSpans ?? [])
          for (const ss of rs.scopeSpans ?? [])
            for (const s of ss.spans ?? []) ids.push(s.spanId);
        const r = this.record(ids);
        r.headers = req.headers;
        const answer = await this.handler(req, this.requests.length - 1);
        if (answer === 'stall') return;
        if (!answer) {
          this.accept(r);
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{}');
          return;
        }
        if (answer.status >= 200 && answer.status < 300) this.accept(r);
        res.writeHead(answer.status, answer.headers ?? {});
        res.end(answer.body ?? '');
      });
    });
    this.server.on('connection', (s) => { this.sockets.add(s); s.on('close', () => this.sockets.delete(s)); });
  }
  async listen(port = 0) {
    await new Promise((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = this.server.address().port;
    return this.port;
  }
  close() {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(resolve));
  }
}

// The exporter counters of one exporter id on an agent whose metrics endpoint is metricsPort.
export async function exporterCounters(metricsPort, id) {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  const samples = parseProm(await res.text());
  const get = (name) => promSum(samples, name, { exporter: id });
  return {
    sent: get('otelcol_exporter_sent_spans'),
    sentPoints: get('otelcol_exporter_sent_metric_points'),
    sentLogs: get('otelcol_exporter_sent_log_records'),
    failed: get('otelcol_exporter_send_failed_spans'),
    failedOther: get('otelcol_exporter_send_failed_metric_points') + get('otelcol_exporter_send_failed_log_records'),
    enqueueFailed: get('otelcol_exporter_enqueue_failed_spans'),
    queue: get('otelcol_exporter_queue_size'),
  };
}

// A receiver counter of an agent (otelcol_receiver_refused_spans ...), summed over transports.
export async function receiverCounter(metricsPort, name) {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  return promSum(parseProm(await res.text()), name);
}
