// Debian's real Prometheus server for integration tests: started on a config in a temp dir,
// queried through its HTTP API (instant queries polled until they return what a test expects).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from './agent.mjs';
import { httpRequest } from './net.mjs';

export const PROMETHEUS = '/usr/bin/prometheus';
export const DEADLINE = 25000; // generous: Prometheus scrapes every second

export class Prometheus {
  // features: --enable-feature values (e.g. ['exemplar-storage']).
  constructor({ dir, webPort, config, features = [] }) {
    const cfg = path.join(dir, 'prometheus.yml');
    fs.writeFileSync(cfg, config);
    this.port = webPort;
    this.log = '';
    this.exited = null;
    this.proc = spawn(PROMETHEUS, [
      `--config.file=${cfg}`, `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${webPort}`, '--log.level=warn',
      ...features.map((f) => `--enable-feature=${f}`),
    ], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (d) => { this.log += d.toString(); });
    this.proc.stderr.on('data', (d) => { this.log += d.toString(); });
    this.exitPromise = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => { this.exited = { code, signal }; resolve(this.exited); });
    });
  }

  async get(p) {
    if (this.exited) throw new Error(`prometheus exited ${JSON.stringify(this.exited)}:\n${this.log}`);
    const r = await httpRequest({ port: this.port, method: 'GET', path: p, timeoutMs: 5000 });
    if (r.error || r.status !== 200) return null;
    return JSON.parse(r.body.toString('utf8'));
  }

  async ready() {
    await waitFor('prometheus /-/ready', async () => {
      if (this.exited) throw new Error(`prometheus exited ${JSON.stringify(this.exited)}:\n${this.log}`);
      const r = await httpRequest({ port: this.port, method: 'GET', path: '/-/ready', timeoutMs: 5000 });
      return r.status === 200;
    }, DEADLINE);
  }

  // An instant query's result ([{ metric, value: [t, "v"] }] or a matrix), null on failure.
  async query(q, time) {
    const t = time === undefined ? '' : `&time=${time}`;
    const j = await this.get(`/api/v1/query?query=${encodeURIComponent(q)}${t}`);
    return j?.status === 'success' ? j.data : null;
  }

  // Polls an instant query until it returns one series whose value passes ok(); returns it.
  async until(q, ok, what = q) {
    let last;
    try {
      return await waitFor(what, async () => {
        const d = await this.query(q);
        last = d?.result;
        if (!last || last.length !== 1) return null;
        return ok(Number(last[0].value[1])) ? last[0] : null;
      }, DEADLINE);
    } catch (e) {
      e.message += `; last result of ${q}: ${JSON.stringify(last)}`;
      throw e;
    }
  }

  async stop(timeoutMs = 20000) {
    if (!this.exited) this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const r = await this.exitPromise;
    clearTimeout(t);
    return r;
  }
}

