// Zstandard frames (RFC 8878) written by hand for the tests: Node 20's zlib has no zstd. Only raw
// and RLE blocks, which every decoder reads; enough for valid requests of any bytes, for bombs (a
// run of one byte costs 4 bytes per 128 KiB) and for frames declaring any window.
const MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const BLOCK_MAX = 128 * 1024;

function blockHeader(last, type, size) {
  const v = size * 8 + type * 2 + (last ? 1 : 0);
  return Buffer.from([v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff]);
}

// The frame header: no content size, no checksum, a window of 2^windowLog bytes (10 to 41).
function header(windowLog) {
  return Buffer.concat([MAGIC, Buffer.from([0x00, (windowLog - 10) << 3])]);
}

// One frame holding data: runs of one byte value become RLE blocks, the rest raw blocks.
export function zstdFrame(data, { windowLog = 17 } = {}) {
  const parts = [header(windowLog)];
  const blockMax = Math.min(BLOCK_MAX, 2 ** windowLog);
  if (data.length === 0) parts.push(blockHeader(true, 0, 0));
  for (let off = 0; off < data.length; off += blockMax) {
    const chunk = data.subarray(off, off + blockMax);
    const last = off + blockMax >= data.length;
    if (chunk.every((b) => b === chunk[0])) parts.push(blockHeader(last, 1, chunk.length), chunk.subarray(0, 1));
    else parts.push(blockHeader(last, 0, chunk.length), chunk);
  }
  return Buffer.concat(parts);
}

// One frame of size copies of byte, as RLE blocks only: 64 MiB of zeros in about 2 KiB.
export function zstdRun(byte, size, { windowLog = 17 } = {}) {
  const parts = [header(windowLog)];
  const blockMax = Math.min(BLOCK_MAX, 2 ** windowLog);
  for (let off = 0; off < size; off += blockMax) {
    const n = Math.min(blockMax, size - off);
    parts.push(blockHeader(off + n >= size, 1, n), Buffer.from([byte]));
  }
  return Buffer.concat(parts);
}
