// The command line: validate on broken configs (exit 1, every error as file:line:col with the key
// path, nothing listening), components, --version, --help, the embedded default config, merging of
// several --config files and ${env:...} expansion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Agent, readJsonLines, runSync, tempDir, waitFor } from './lib/agent.mjs';

const GOOD = `receivers:
  otlpjsonfile:
    include: ["/tmp/nothing-here/*.jsonl"]
processors:
  batch:
exporters:
  debug:
service:
  pipelines:
    traces:
      receivers: [otlpjsonfile]
      processors: [batch]
      exporters: [debug]
`;

function validate(text, name = 'collector-config.yaml') {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, name), text);
  return runSync(['validate', '--config', name], { cwd: dir });
}

test('validate accepts a good config', () => {
  const r = validate(GOOD);
  assert.equal(r.code, 0, r.stderr);
});

// The exporter types `ocagent components` lists, in its order (the registry's, sorted by name),
// so the "known:" list below follows the registry as exporters are added.
function exporterTypes() {
  const section = runSync(['components']).stdout.split(/^exporters:$/m)[1].split(/^\S.*:$/m)[0];
  // A type's alias is a known name too ("  otlp (alias otlp_grpc) [traces, ...]").
  return [...section.matchAll(/^  ([a-z_]+)(?: \(alias ([a-z_]+)\))? \[/gm)].flatMap((m) => (m[2] ? [m[1], m[2]] : [m[1]])).sort();
}

// Each broken config, with the line the agent must print (file:line:col: key.path: message).
const broken = [
  ['unknown key with a hint', GOOD.replace('  debug:\n', '  debug:\n    verbosty: basic\n'),
    /^collector-config\.yaml:8:5: exporters\.debug\.verbosty: unknown key \(did you mean verbosity\?\)$/m],
  ['wrong type', GOOD.replace('  batch:\n', '  batch:\n    timeout: [1, 2]\n'),
    /^collector-config\.yaml:6:14: processors\.batch\.timeout: expected a duration/m],
  ['bad duration', GOOD.replace('  batch:\n', '  batch:\n    timeout: 5 parsecs\n'),
    /^collector-config\.yaml:6:14: processors\.batch\.timeout: /m],
  ['value out of bounds', GOOD.replace('  batch:\n', '  batch:\n    send_batch_size: 0\n'),
    /^collector-config\.yaml:6:22: processors\.batch\.send_batch_size: value 0 out of range/m],
  ['bad enum value', GOOD.replace('  debug:\n', '  debug:\n    verbosity: loud\n'),
    /^collector-config\.yaml:8:16: exporters\.debug\.verbosity: invalid value "loud" \(one of: basic, normal, detailed\)$/m],
  ['unknown component type', GOOD.replace('  debug:\n', '  debugg:\n'),
    new RegExp(`^collector-config\\.yaml:7:3: exporters\\.debugg: unknown exporter type "debugg" \\(known: ${exporterTypes().join(', ')}\\)$`, 'm')],
  ['pipeline names an undefined component', GOOD.replace('exporters: [debug]', 'exporters: [debug, file/x]'),
    /^collector-config\.yaml:13:26: service\.pipelines\.traces\.exporters: exporter "file\/x" is not defined/m],
  ['pipeline without exporters', GOOD.replace('      exporters: [debug]\n', ''),
    /^collector-config\.yaml:10:5: service\.pipelines\.traces: pipeline must have at least one exporter$/m],
  ['pipeline without receivers', GOOD.replace('      receivers: [otlpjsonfile]\n', ''),
    /^collector-config\.yaml:10:5: service\.pipelines\.traces: pipeline must have at least one receiver$/m],
  ['unknown signal', GOOD.replace('    traces:\n', '    spans:\n'),
    /^collector-config\.yaml:10:5: service\.pipelines\.spans: unknown signal/m],
  ['YAML syntax error', GOOD.replace('  batch:\n', '  batch: [\n'),
    /^collector-config\.yaml:\d+:\d+: /m],
  ['missing required key', GOOD.replace('  debug:\n', '  debug:\n  file:\n').replace('exporters: [debug]', 'exporters: [debug, file]'),
    /^collector-config\.yaml:8:3: exporters\.file\.path: path must be set$/m],
];

for (const [name, text, want] of broken) {
  test(`validate rejects: ${name}`, () => {
    const r = validate(text);
    assert.equal(r.code, 1, `exit code for ${name}\n${r.stderr}`);
    assert.match(r.stderr, want);
  });
}

test('validate reports every error in one run', () => {
  const text = GOOD.replace('  batch:\n', '  batch:\n    send_batch_size: -5\n    timeout: soon\n').replace('  debug:\n', '  debug:\n    verbosity: loud\n');
  const r = validate(text);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /send_batch_size/);
  assert.match(r.stderr, /timeout/);
  assert.match(r.stderr, /verbosity/);
  assert.match(r.stderr, /3 configuration errors/);
});

test('an invalid config on the run path exits 1 before starting anything', () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'c.yaml'), GOOD.replace('  debug:\n', '  debug:\n    nope: 1\n'));
  const r = runSync(['--config', 'c.yaml'], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^c\.yaml:8:5: exporters\.debug\.nope: unknown key/m);
  assert.doesNotMatch(r.stderr, /started/);
});

test('components lists every type with its keys and defaults', () => {
  const r = runSync(['components']);
  assert.equal(r.code, 0, r.stderr);
  for (const want of [/^receivers:$/m, /^  otlp \[traces, metrics, logs\]/m, /^  otlpjsonfile \[traces, metrics, logs\]/m, /^processors:$/m, /^  batch /m,
    /send_batch_size: .*8192/, /timeout: .*200ms/, /^exporters:$/m, /^  debug /m, /^  file /m, /verbosity: .*basic/,
    /sampling_initial: .*2/, /flush_interval: .*1s/, /max_megabytes: .*100/, /max_backups: .*100/]) {
    assert.match(r.stdout, want);
  }
});

test('--version and --help', () => {
  const v = runSync(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^ocagent \S+\n$/);
  const h = runSync(['--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /--config FILE/);
  assert.match(h.stdout, /validate/);
});

// The default config listens on fixed ports, and 55678 lies in Linux's ephemeral range (32768-60999),
// where an outbound connection of a test file running beside this one can hold it for a moment
// (seen once: "cannot listen on localhost:55678: address already in use"). Only that failure is
// tried again, a few times; any other makes the test fail as before.
async function startOnDefaultPorts(dir) {
  for (let attempt = 1; ; attempt++) {
    const agent = new Agent(null, { dir, args: [] });
    try {
      await agent.started();
      return agent;
    } catch (e) {
      if (attempt >= 5 || !/address already in use/.test(agent.stderr)) throw e;
      await agent.stop();
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

test('the embedded default config validates, runs, and stops cleanly on SIGTERM', async () => {
  const p = runSync(['--print-default-config']);
  assert.equal(p.code, 0);
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'default.yaml'), p.stdout);
  assert.equal(runSync(['validate', '--config', 'default.yaml'], { cwd: dir }).code, 0);
  const agent = await startOnDefaultPorts(dir);
  // The default config takes OTLP on localhost:4317 (gRPC) and 4318 (HTTP) and prints a line per
  // batch with debug.
  const body = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'hello', traceId: '0102030405060708090a0b0c0d0e0f10', spanId: '0102030405060708' }] }] }] });
  const res = await fetch('http://localhost:4318/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {});
  await agent.waitLog(/spans: 1/);
  const r = await agent.stop();
  assert.equal(r.code, 0, agent.stderr);
});

test('later --config files deep-merge over earlier ones, and ${env:...} is expanded', async () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'base.yaml'), `
receivers:
  otlpjsonfile:
    include: ["\${env:IN_DIR}/*.jsonl"]
    start_at: end
    poll_interval: 50ms
exporters:
  file:
    path: \${env:OUT_FILE:-/nonexistent/out.jsonl}
    flush_interval: 50ms
service:
  pipelines:
    logs:
      receivers: [otlpjsonfile]
      exporters: [file]
`);
  // The overlay changes one nested key and keeps the rest of the receiver's section.
  fs.writeFileSync(path.join(dir, 'overlay.yaml'), 'receivers:\n  otlpjsonfile:\n    start_at: beginning\n');
  fs.mkdirSync(path.join(dir, 'in'));
  fs.writeFileSync(path.join(dir, 'in', 'a.jsonl'), JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'merged' } }] }] }] }) + '\n');
  const agent = new Agent(null, { dir, args: ['--config', 'base.yaml', '--config=overlay.yaml'], env: { IN_DIR: path.join(dir, 'in'), OUT_FILE: path.join(dir, 'out.jsonl') } });
  try {
    const out = await waitFor('the log record', () => { const o = readJsonLines(path.join(dir, 'out.jsonl')); return o.length && o; });
    assert.equal(out[0].resourceLogs[0].scopeLogs[0].logRecords[0].body.stringValue, 'merged');
  } finally {
    assert.equal((await agent.stop()).code, 0, agent.stderr);
  }
});

test('the README reference of components is what `ocagent components` prints', () => {
  const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const block = readme.match(/<!-- components:begin[^\n]*\n```\n([\s\S]*?)```\n<!-- components:end -->/);
  assert.ok(block, 'README has the components block');
  assert.equal(block[1], runSync(['components']).stdout, 'README is stale: run make readme');
});
