// An OpenCensus Agent client for integration tests: @grpc/grpc-js service constructors loaded
// with @grpc/proto-loader from the project's own OpenCensus schemas, and one Export stream.
import path from 'node:path';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const loadOpts = { keepCase: true, longs: String, enums: String, defaults: false, oneofs: true, includeDirs: [path.resolve('proto')] };
const load = (file) => grpc.loadPackageDefinition(protoLoader.loadSync(file, loadOpts));
export const TraceService = load('opencensus/proto/agent/trace/v1/trace_service.proto').opencensus.proto.agent.trace.v1.TraceService;
export const MetricsService = load('opencensus/proto/agent/metrics/v1/metrics_service.proto').opencensus.proto.agent.metrics.v1.MetricsService;

// Opens one Export stream on client, writes the messages, ends it, and resolves the final status.
export function exportStream(client, messages) {
  return new Promise((resolve) => {
    const call = client.Export();
    call.on('data', () => {});
    call.on('error', () => {});
    call.on('status', (s) => resolve(s));
    for (const m of messages) call.write(m);
    call.end();
  });
}
