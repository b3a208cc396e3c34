import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * A small deflate (RFC 1951, one block of fixed Huffman codes, greedy LZ77 over a 32 KiB window)
 * in a zlib wrapper (RFC 1950). Not the best compression, but the same bytes on every runtime:
 * Node's zlib and Deno's compress the same input to different (equally valid) bytes, and sprite
 * sheets must be byte-identical wherever they are made. Sprite sheets are mostly runs of
 * transparent pixels, which LZ77 at distance 4 takes in 258-byte steps.
 */
export function zlibDeflate(data: Uint8Array): Uint8Array {
  const steps = deflateSteps(data);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Input bytes deflated between two turns of the event loop (a few ms of work). */
export const DEFLATE_BYTES_PER_TURN = 256 * 1024;

/**
 * zlibDeflate, the same bytes, giving the event loop a turn every DEFLATE_BYTES_PER_TURN bytes
 * of input: a sheet of a few thousand icons is megabytes of pixels, a fifth of a second to deflate.
 */
export async function zlibDeflateYielding(data: Uint8Array): Promise<Uint8Array> {
  const steps = deflateSteps(data);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await nextTurn();
  }
}

/** The deflate itself, pausing (yield) every DEFLATE_BYTES_PER_TURN bytes of input. */
function* deflateSteps(data: Uint8Array): Generator<void, Uint8Array> {
  const out = new BitWriter(data.length / 2 + 64);
  out.bytes(0x78, 0x01);
  out.bits(1, 1); // BFINAL
  out.bits(1, 2); // BTYPE 01: fixed Huffman codes
  const head = new Int32Array(1 << 16).fill(-1);
  const hash = (i: number) => (((data[i] as number) << 8) ^ ((data[i + 1] as number) << 4) ^ (data[i + 2] as number)) & 0xffff;
  let i = 0;
  let pause = DEFLATE_BYTES_PER_TURN;
  while (i < data.length) {
    if (i >= pause) {
      yield;
      pause = i + DEFLATE_BYTES_PER_TURN;
    }
    let length = 0;
    let distance = 0;
    if (i + 2 < data.length) {
      const h = hash(i);
      const candidate = head[h] as number;
      head[h] = i;
      if (candidate >= 0 && i - candidate <= WINDOW) {
        const limit = Math.min(MAX_MATCH, data.length - i);
        while (length < limit && data[candidate + length] === data[i + length]) length++;
        distance = i - candidate;
      }
    }
    if (length >= MIN_MATCH) {
      writeLength(out, length);
      writeDistance(out, distance);
      for (let k = 1; k < length && i + k + 2 < data.length; k++) head[hash(i + k)] = i + k;
      i += length;
    } else {
      writeLiteral(out, data[i] as number);
      i++;
    }
  }
  writeLiteral(out, 256); // end of block
  out.align();
  const a = adler32(data);
  out.bytes((a >>> 24) & 0xff, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff);
  return out.finish();
}

const WINDOW = 32768;
const MIN_MATCH = 3;
const MAX_MATCH = 258;
const LENGTH_BASE = [
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DISTANCE_BASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289,
  16385, 24577,
];
const DISTANCE_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];

/** The fixed Huffman code of a literal/length symbol (RFC 1951 §3.2.6). */
function writeLiteral(out: BitWriter, symbol: number): void {
  if (symbol < 144) out.code(0x30 + symbol, 8);
  else if (symbol < 256) out.code(0x190 + symbol - 144, 9);
  else if (symbol < 280) out.code(symbol - 256, 7);
  else out.code(0xc0 + symbol - 280, 8);
}

function writeLength(out: BitWriter, length: number): void {
  let s = LENGTH_BASE.length - 1;
  while ((LENGTH_BASE[s] as number) > length) s--;
  writeLiteral(out, 257 + s);
  out.bits(length - (LENGTH_BASE[s] as number), LENGTH_EXTRA[s] as number);
}

function writeDistance(out: BitWriter, distance: number): void {
  let s = DISTANCE_BASE.length - 1;
  while ((DISTANCE_BASE[s] as number) > distance) s--;
  out.code(s, 5);
  out.bits(distance - (DISTANCE_BASE[s] as number), DISTANCE_EXTRA[s] as number);
}

function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < data.length; ) {
    const end = Math.min(data.length, i + 5552);
    for (; i < end; i++) {
      a += data[i] as number;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** Bits, least significant first, into a growing byte buffer. */
class BitWriter {
  #buf: Uint8Array;
  #at = 0;
  #acc = 0;
  #count = 0;

  constructor(capacity: number) {
    this.#buf = new Uint8Array(Math.max(64, Math.ceil(capacity)));
  }

  /** `n` bits of `value`, least significant first (extra bits, header fields). */
  bits(value: number, n: number): void {
    for (let k = 0; k < n; k++) this.#bit((value >>> k) & 1);
  }

  /** A Huffman code of `n` bits, most significant first. */
  code(value: number, n: number): void {
    for (let k = n - 1; k >= 0; k--) this.#bit((value >>> k) & 1);
  }

  bytes(...values: number[]): void {
    for (const v of values) this.#push(v);
  }

  align(): void {
    if (this.#count > 0) this.#push(this.#acc);
    this.#acc = 0;
    this.#count = 0;
  }

  finish(): Uint8Array {
    return this.#buf.slice(0, this.#at);
  }

  #bit(bit: number): void {
    this.#acc |= bit << this.#count;
    if (++this.#count === 8) {
      this.#push(this.#acc);
      this.#acc = 0;
      this.#count = 0;
    }
  }

  #push(byte: number): void {
    if (this.#at === this.#buf.length) {
      const bigger = new Uint8Array(this.#buf.length * 2);
      bigger.set(this.#buf);
      this.#buf = bigger;
    }
    this.#buf[this.#at++] = byte;
  }
}
