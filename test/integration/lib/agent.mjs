// Starts the built ocagent binary (OCAGENT_BIN) as a child process for one test, with a config
// written to a fresh temporary directory, and offers waits on its log and on files it writes.
// Tests never sleep for a fixed time: they poll for a condition until a deadline.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const BIN = path.resolve(process.env.OCAGENT_BIN || 'build/ocagent');

export function tempDir(prefix = 'ocagent-test-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// Runs the binary to completion (for validate, components, --version ...).
export function runSync(args, opts = {}) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', timeout: 30000, ...opts });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

export async function waitFor(what, fn, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export class Agent {
  constructor(configText, { dir = tempDir(), env = {}, args = null } = {}) {
    this.dir = dir;
    this.configPath = path.join(dir, 'config.yaml');
    if (configText !== null) fs.writeFileSync(this.configPath, configText);
    this.stderr = '';
    this.exited = null;
    // The agent's own metrics endpoint defaults to localhost:8888, which agents of test files
    // running in parallel would fight over: an overlay loaded first moves it to an ephemeral port.
    // A test's own service.telemetry.metrics keys are merged over it and win.
    const base = path.join(dir, 'test-base.yaml');
    if (!args) fs.writeFileSync(base, 'service:\n  telemetry:\n    metrics:\n      address: localhost:0\n');
    const argv = args ?? ['--config', base, '--config', this.configPath];
    this.proc = spawn(BIN, argv, { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stderr.on('data', (d) => { this.stderr += d.toString(); });
    this.proc.stdout.on('data', (d) => { this.stderr += d.toString(); });
    this.exitPromise = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => { this.exited = { code, signal }; resolve(this.exited); });
    });
  }

  async waitLog(pattern, timeoutMs = 15000) {
    return waitFor(`log ${pattern}`, () => {
      if (this.exited && !pattern.test(this.stderr)) throw new Error(`agent exited ${JSON.stringify(this.exited)} before log ${pattern}:\n${this.stderr}`);
      return pattern.test(this.stderr);
    }, timeoutMs);
  }

  async started() { return this.waitLog(/ocagent .* started/); }

  get pid() { return this.proc.pid; }

  // Throws (with the agent's log) when the process has exited.
  assertAlive() {
    if (this.exited) throw new Error(`agent exited ${JSON.stringify(this.exited)}:\n${this.stderr}`);
  }

  // Resident set size of the running agent in KiB (VmRSS from /proc).
  rssKiB() {
    this.assertAlive();
    const m = fs.readFileSync(`/proc/${this.proc.pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
    return m ? Number(m[1]) : 0;
  }

  // SIGTERM, then the exit status; a second signal is never sent here.
  async stop(timeoutMs = 20000) {
    if (!this.exited) this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const r = await this.exitPromise;
    clearTimeout(t);
    return r;
  }
}

// Reads a file of JSON lines; an absent file reads as no lines. A line counts once its newline is
// written: the agent may be writing the file while a test polls it, and a read can end mid-line.
export function readJsonLines(file) {
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.pop();
  return lines.filter((l) => l.length).map((l) => JSON.parse(l));
}
