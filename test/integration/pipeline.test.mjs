// End to end through the built binary: OTLP/JSON lines in (otlpjsonfile) -> batch -> file exporter,
// for every signal; what comes out must be what went in, item by item, with every field intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Agent, readJsonLines, tempDir, waitFor } from './lib/agent.mjs';
import { traceRequest, metricRequest, logRequest, flatten, flattenPoints } from './lib/otlp.mjs';

function pipelineConfig(dir, { batch = 'send_batch_size: 50\n    timeout: 100ms', format = 'json' } = {}) {
  return `
receivers:
  otlpjsonfile:
    include: ["${dir}/in/*.jsonl"]
    start_at: beginning
    poll_interval: 50ms
processors:
  batch:
    ${batch}
exporters:
  file:
    path: ${dir}/out.jsonl
    format: ${format}
    flush_interval: 100ms
service:
  telemetry:
    logs:
      level: debug
  pipelines:
    traces:
      receivers: [otlpjsonfile]
      processors: [batch]
      exporters: [file]
    metrics:
      receivers: [otlpjsonfile]
      processors: [batch]
      exporters: [file]
    logs:
      receivers: [otlpjsonfile]
      processors: [batch]
      exporters: [file]
`;
}

function writeInput(dir, name, requests) {
  fs.mkdirSync(path.join(dir, 'in'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'in', name), requests.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

test('every span, data point and log record comes out of the file exporter as it went in', async () => {
  const traces = [traceRequest(30, 'a'), traceRequest(1, 'b'), traceRequest(45, 'c')];
  const metrics = [metricRequest('m1'), metricRequest('m2')];
  const logs = [logRequest(20, 'l1'), logRequest(33, 'l2')];
  const dir = tempDir();
  writeInput(dir, 'traces.jsonl', traces);
  writeInput(dir, 'metrics.jsonl', metrics);
  writeInput(dir, 'logs.jsonl', logs);
  const agent = new Agent(pipelineConfig(dir, { batch: 'send_batch_size: 50\n    timeout: 2s' }), { dir });
  try {
    const want = flatten(traces).length + flatten(logs).length + flatten(metrics).length;
    await waitFor('all items in the output file', () => flatten(readJsonLines(path.join(dir, 'out.jsonl'))).length >= want);
    const out = readJsonLines(path.join(dir, 'out.jsonl'));
    // Compare content, not text: the same object with its keys in any order is the same item.
    const canon = (v) => (Array.isArray(v) ? v.map(canon) : v && typeof v === 'object'
      ? Object.fromEntries(Object.keys(v).sort().filter((k) => v[k] !== undefined).map((k) => [k, canon(v[k])])) : v);
    const sortKey = (x) => JSON.stringify(canon(x));
    const bySignal = (reqs, key) => reqs.filter((r) => r[key]);
    assert.deepEqual(flatten(bySignal(out, 'resourceSpans')).map(sortKey).sort(), flatten(traces).map(sortKey).sort());
    assert.deepEqual(flatten(bySignal(out, 'resourceLogs')).map(sortKey).sort(), flatten(logs).map(sortKey).sort());
    assert.deepEqual(flattenPoints(bySignal(out, 'resourceMetrics')).map(sortKey).sort(), flattenPoints(metrics).map(sortKey).sort());
    // The 76 spans of three requests were regrouped by send_batch_size 50: fewer requests came out.
    assert.ok(bySignal(out, 'resourceSpans').length < traces.length, `${bySignal(out, 'resourceSpans').length} trace requests`);
  } finally {
    const r = await agent.stop();
    assert.equal(r.code, 0, agent.stderr);
  }
});

test('non-canonical OTLP/JSON input (upper-case hex ids, numbers for int64, enum names, snake_case keys) is normalised', async () => {
  const dir = tempDir();
  const line = {
    resource_spans: [{
      resource: { attributes: [{ key: 'service.name', value: { string_value: 'svc' } }] },
      scope_spans: [{
        spans: [{
          trace_id: '5B8EFFF798038103D269B633813FC60C', spanId: 'EEE19B7EC3C1B174', name: 'n',
          kind: 'SPAN_KIND_SERVER', startTimeUnixNano: 1544712660000000000, end_time_unix_nano: '1544712661000000000',
          attributes: [{ key: 'i', value: { intValue: 42 } }], unknownField: { ignored: true },
        }],
      }],
    }],
  };
  writeInput(dir, 'in.jsonl', [line]);
  const agent = new Agent(pipelineConfig(dir), { dir });
  try {
    const out = await waitFor('one span out', () => {
      const o = readJsonLines(path.join(dir, 'out.jsonl'));
      return flatten(o).length === 1 && o;
    });
    assert.deepEqual(flatten(out)[0].item, {
      traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name: 'n', kind: 2,
      startTimeUnixNano: '1544712660000000000', endTimeUnixNano: '1544712661000000000',
      attributes: [{ key: 'i', value: { intValue: '42' } }],
    });
    assert.deepEqual(flatten(out)[0].resource, { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] });
  } finally {
    assert.equal((await agent.stop()).code, 0, agent.stderr);
  }
});

test('a malformed line is reported with its file and line and the lines around it still arrive', async () => {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'in'));
  fs.writeFileSync(path.join(dir, 'in', 'x.jsonl'), [
    JSON.stringify(traceRequest(2, 'ok1')),
    '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abc"}]}]}]}',
    '{"resourceSpans": [',
    JSON.stringify(traceRequest(3, 'ok2')),
  ].join('\n') + '\n');
  const agent = new Agent(pipelineConfig(dir), { dir });
  try {
    await waitFor('five spans', () => flatten(readJsonLines(path.join(dir, 'out.jsonl'))).length === 5);
    await agent.waitLog(/x\.jsonl:2: .*traceId/);
    await agent.waitLog(/x\.jsonl:3: /);
  } finally {
    assert.equal((await agent.stop()).code, 0, agent.stderr);
  }
});

test('SIGTERM flushes a batch that is still pending in the batch processor', async () => {
  const dir = tempDir();
  const traces = [traceRequest(7, 'pending')];
  writeInput(dir, 'in.jsonl', traces);
  const agent = new Agent(pipelineConfig(dir, { batch: 'send_batch_size: 100000\n    timeout: 1h' }), { dir });
  await agent.waitLog(/read 7 spans/);
  // Nothing may have been written yet: the batch waits for an hour or 100000 spans.
  assert.equal(flatten(readJsonLines(path.join(dir, 'out.jsonl'))).length, 0);
  const r = await agent.stop();
  assert.equal(r.code, 0, agent.stderr);
  assert.deepEqual(flatten(readJsonLines(path.join(dir, 'out.jsonl'))).map((x) => x.item), flatten(traces).map((x) => x.item));
});

test('lines appended while the agent runs are picked up', async () => {
  const dir = tempDir();
  writeInput(dir, 'live.jsonl', [traceRequest(1, 'first')]);
  const agent = new Agent(pipelineConfig(dir), { dir });
  try {
    await waitFor('first span', () => flatten(readJsonLines(path.join(dir, 'out.jsonl'))).length === 1);
    fs.appendFileSync(path.join(dir, 'in', 'live.jsonl'), JSON.stringify(logRequest(4, 'later')) + '\n');
    await waitFor('four more log records', () => flatten(readJsonLines(path.join(dir, 'out.jsonl'))).length === 5);
  } finally {
    assert.equal((await agent.stop()).code, 0, agent.stderr);
  }
});
