// Loopback helpers for the network tests: free ports, waiting for a listener, one-shot HTTP/1.1 and
// HTTP/2 requests that report what came back (or how the connection ended), test certificates made
// with the openssl CLI, a minimal protobuf reader for google.rpc.Status bodies and a parser of the
// Prometheus text format for the agent's own metrics.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import path from 'node:path';
import { waitFor } from './agent.mjs';

// n distinct ports that were free a moment ago: all are held open together, then released.
export async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = net.createServer();
      await new Promise((resolve, reject) => { s.once('error', reject); s.listen(0, '127.0.0.1', resolve); });
      servers.push(s);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

// Resolves true once a TCP connection to port succeeds (the connection is closed at once).
export function canConnect(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}

export async function waitListening(ports, agent, timeoutMs = 20000) {
  for (const p of ports) {
    await waitFor(`a listener on port ${p}`, async () => {
      if (agent?.exited) throw new Error(`agent exited ${JSON.stringify(agent.exited)}:\n${agent.stderr}`);
      return canConnect(p);
    }, timeoutMs);
  }
}

// One HTTP/1.1 request on a fresh connection. Resolves { status, headers, body } or, when the
// connection failed or ended without a response, { error }. Never rejects.
export function httpRequest({ port, host = '127.0.0.1', method = 'POST', path: p = '/', headers = {}, body, timeoutMs = 20000 }) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (v) => { if (!done) { done = true; resolve(v); } };
    const req = http.request({ host, port, method, path: p, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => finish({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (e) => finish({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), error: e }));
    });
    req.setTimeout(timeoutMs, () => { req.destroy(new Error('client timeout')); });
    // A server that answers early (413) and closes may make the rest of our write fail; the
    // response, when it came, is what counts.
    req.on('error', (e) => setImmediate(() => finish({ error: e })));
    if (body !== undefined) req.end(body); else req.end();
  });
}

// One HTTP/2 (h2c prior knowledge) request. Resolves { status, headers, trailers, body } or { error }.
export function h2Request({ port, host = '127.0.0.1', headers, body, timeoutMs = 20000 }) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (v) => { if (!done) { done = true; session.close(); resolve(v); } };
    const session = http2.connect(`http://${host}:${port}`);
    session.on('error', (e) => finish({ error: e }));
    const req = session.request(headers);
    let status, resHeaders, trailers = {};
    const chunks = [];
    req.setTimeout(timeoutMs, () => finish({ error: new Error('client timeout') }));
    req.on('response', (h) => { resHeaders = h; status = h[':status']; });
    req.on('trailers', (t) => { trailers = t; });
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => finish({ status, headers: resHeaders, trailers, body: Buffer.concat(chunks) }));
    req.on('error', (e) => finish({ status, headers: resHeaders, trailers, body: Buffer.concat(chunks), error: e }));
    req.end(body);
  });
}

// A raw TCP connection that records everything it reads and when it ended.
export class RawConn {
  constructor(port, host = '127.0.0.1') {
    this.data = Buffer.alloc(0);
    this.closed = false;
    this.error = null;
    this.sock = net.connect({ port, host });
    this.connected = new Promise((resolve, reject) => { this.sock.once('connect', resolve); this.sock.once('error', reject); });
    this.sock.on('data', (d) => { this.data = Buffer.concat([this.data, d]); });
    this.sock.on('error', (e) => { this.error = e; });
    this.sock.on('close', () => { this.closed = true; this.closedAt = Date.now(); });
  }
  write(b) { if (!this.sock.destroyed) this.sock.write(b); }
  destroy() { this.sock.destroy(); }
}

// HTTP/2 frames in a byte string: [{ length, type, flags, stream, payload }]; a partial frame at
// the end is left out.
export function h2Frames(buf) {
  const out = [];
  let o = 0;
  while (o + 9 <= buf.length) {
    const length = buf.readUIntBE(o, 3);
    if (o + 9 + length > buf.length) break;
    out.push({ length, type: buf[o + 3], flags: buf[o + 4], stream: buf.readUInt32BE(o + 5) & 0x7fffffff, payload: buf.subarray(o + 9, o + 9 + length) });
    o += 9 + length;
  }
  return out;
}

export function h2Frame(type, flags, stream, payload = Buffer.alloc(0)) {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type; h[4] = flags; h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

// A CA, a server certificate for localhost and 127.0.0.1, and a client certificate, all signed by
// the CA, made with the openssl CLI into dir. Returns the file paths and their contents.
export function makeCerts(dir) {
  const f = (n) => path.join(dir, n);
  const ossl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ossl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=ocagent test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  const leaf = (name, cn, ext) => {
    fs.writeFileSync(f(`${name}.ext`), ext);
    ossl('req', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
    ossl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial',
      '-out', f(`${name}.crt`), '-days', '2', '-extfile', f(`${name}.ext`));
  };
  leaf('server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n');
  leaf('client', 'ocagent test client', 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n');
  const out = {};
  for (const n of ['ca.crt', 'server.crt', 'server.key', 'client.crt', 'client.key']) {
    out[n.replace('.', '_')] = f(n);
    out[n.replace('.', '_') + '_pem'] = fs.readFileSync(f(n));
  }
  return out;
}

// A minimal protobuf reader: the fields of one message as [{ field, wire, value }] (varints as
// BigInt, length-delimited as Buffer). Throws on malformed input.
export function pbFields(buf) {
  const out = [];
  let o = 0;
  const varint = () => {
    let v = 0n, shift = 0n;
    for (;;) {
      if (o >= buf.length) throw new Error('truncated varint');
      const b = buf[o++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (o < buf.length) {
    const key = Number(varint());
    const field = key >> 3, wire = key & 7;
    let value;
    if (wire === 0) value = varint();
    else if (wire === 1) { value = buf.subarray(o, o + 8); o += 8; }
    else if (wire === 2) { const n = Number(varint()); value = buf.subarray(o, o + n); o += n; }
    else if (wire === 5) { value = buf.subarray(o, o + 4); o += 4; }
    else throw new Error(`wire type ${wire}`);
    if (o > buf.length) throw new Error('truncated field');
    out.push({ field, wire, value });
  }
  return out;
}

// google.rpc.Status { int32 code = 1; string message = 2; repeated Any details = 3; } from
// protobuf bytes; details as [{ typeUrl, value }].
export function decodeStatus(buf) {
  const st = { code: 0, message: '', details: [] };
  for (const f of pbFields(buf)) {
    if (f.field === 1 && f.wire === 0) st.code = Number(BigInt.asIntN(32, f.value));
    else if (f.field === 2 && f.wire === 2) st.message = f.value.toString('utf8');
    else if (f.field === 3 && f.wire === 2) {
      const any = { typeUrl: '', value: Buffer.alloc(0) };
      for (const g of pbFields(f.value)) {
        if (g.field === 1) any.typeUrl = g.value.toString('utf8');
        else if (g.field === 2) any.value = g.value;
      }
      st.details.push(any);
    }
  }
  return st;
}

// Minimal protobuf writer pieces, for hand-made messages.
export function pbVarint(n) {
  let v = BigInt(n);
  const out = [];
  do { let b = Number(v & 0x7fn); v >>= 7n; if (v) b |= 0x80; out.push(b); } while (v);
  return Buffer.from(out);
}
export function pbLen(field, bytes) {
  return Buffer.concat([pbVarint((field << 3) | 2), pbVarint(bytes.length), bytes]);
}

// Prometheus text exposition: [{ name, labels, value }] for every sample line.
export function parseProm(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/);
    if (!m) throw new Error(`bad exposition line: ${line}`);
    const labels = {};
    if (m[2]) for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

// Sum of every sample of a metric whose labels include the given ones.
export function promSum(samples, name, labels = {}) {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

// TCP connections the process pid holds in state ESTABLISHED on local port `port` (its accepted
// connections), from /proc/<pid>/fd and /proc/net/tcp{,6}.
export function establishedConnections(pid, port) {
  const inodes = new Set();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = fs.readlinkSync(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/);
      if (m) inodes.add(m[1]);
    } catch { /* closed meanwhile */ }
  }
  let n = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(table)) continue;
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const localPort = parseInt(f[1].split(':')[1], 16);
      if (localPort === port && f[3] === '01' && inodes.has(f[9])) n++;
    }
  }
  return n;
}
