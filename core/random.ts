import { randomFillSync } from 'node:crypto';
import type { Random } from './ports.js';

/** Bytes fetched from the CSPRNG at a time; small requests are served from this pool. */
const POOL_SIZE = 4096;
/** ASCII codes of the hex digits, by value. */
const HEX = Buffer.from('0123456789abcdef', 'latin1');
const DASH = 0x2d;

/**
 * Randomness from the operating system's CSPRNG (OpenSSL's `RAND_bytes` through
 * `randomFillSync`). Small requests are served from a pool refilled 4 KiB at a time — as Node's
 * own `randomUUID` does — since each call into the CSPRNG has a fixed cost larger than the
 * rest of minting an opaque token. Every byte is handed out once; callers get their own copy.
 */
export class CryptoRandom implements Random {
  readonly #pool = Buffer.allocUnsafeSlow(POOL_SIZE);
  #offset = POOL_SIZE;
  readonly #text = Buffer.alloc(36);

  bytes(length: number): Buffer {
    if (length > POOL_SIZE / 8) return randomFillSync(Buffer.allocUnsafe(length));
    const at = this.#take(length);
    const out = Buffer.from(this.#pool.subarray(at, at + length));
    // Zeroed once handed out, so no copy of an issued token's randomness stays in the pool.
    this.#pool.fill(0, at, at + length);
    return out;
  }

  /**
   * A random (version 4, RFC 9562) UUID, lower case. Written here rather than taken from
   * `crypto.randomUUID`, which joins 20 pieces with `+`: V8 keeps that as a chain of some 14
   * "cons" strings until something reads it whole, and a token id is stored with every session
   * and rarely read: memory kept, and walked by the collector, for every session.
   * This one is written as bytes and read out once: one flat 36-character string.
   */
  uuid(): string {
    const at = this.#take(16);
    const pool = this.#pool;
    const text = this.#text;
    let j = 0;
    for (let i = 0; i < 16; i++) {
      let byte = pool[at + i] as number;
      pool[at + i] = 0; // as in bytes(): no copy stays in the pool
      if (i === 6) byte = (byte & 0x0f) | 0x40; // version 4
      else if (i === 8) byte = (byte & 0x3f) | 0x80; // the RFC 9562 variant
      if (i === 4 || i === 6 || i === 8 || i === 10) text[j++] = DASH;
      text[j++] = HEX[byte >> 4] as number;
      text[j++] = HEX[byte & 0x0f] as number;
    }
    const uuid = text.toString('latin1');
    for (let k = 0; k < 36; k++) text[k] = 0;
    return uuid;
  }

  /** The offset of `length` unused bytes in the pool (refilled when too few are left). */
  #take(length: number): number {
    if (this.#offset + length > POOL_SIZE) {
      randomFillSync(this.#pool);
      this.#offset = 0;
    }
    const at = this.#offset;
    this.#offset += length;
    return at;
  }
}
