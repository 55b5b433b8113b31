import { randomFillSync, randomUUID } from 'node:crypto';
import type { Random } from './ports.js';

/** Bytes fetched from the CSPRNG at a time; small requests are served from this pool. */
const POOL_SIZE = 4096;

/**
 * Randomness from the operating system's CSPRNG (OpenSSL's `RAND_bytes` through
 * `randomFillSync`). Small requests are served from a pool refilled 4 KiB at a time — as Node's
 * own `randomUUID` does — since one call into the CSPRNG per token cost more than the rest of
 * minting an opaque token. Every byte is handed out once; callers get their own copy.
 */
export class CryptoRandom implements Random {
  readonly #pool = Buffer.allocUnsafeSlow(POOL_SIZE);
  #offset = POOL_SIZE;

  bytes(length: number): Buffer {
    if (length > POOL_SIZE / 8) return randomFillSync(Buffer.allocUnsafe(length));
    const at = this.#take(length);
    const out = Buffer.from(this.#pool.subarray(at, at + length));
    // Zeroed once handed out, so no copy of an issued token's randomness stays in the pool.
    this.#pool.fill(0, at, at + length);
    return out;
  }

  /** A random (version 4, RFC 9562) UUID, lower case, from Node's own generator. */
  uuid(): string {
    return randomUUID();
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
