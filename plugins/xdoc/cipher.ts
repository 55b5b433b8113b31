import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import type { Random } from '../../core/ports.js';
import { decodeBytes } from './bytes.js';
import { passwordDeriveBytes, pbkdf2Sha1 } from './derive.js';
import { DEFAULT_ITERATIONS, type KeySetSettings, type Mode, type Padding } from './schema.js';

const BLOCK = 16;
/** GCM: a 96-bit random nonce in front of the ciphertext, the 128-bit tag after it. */
export const GCM_NONCE = 12;
export const GCM_TAG = 16;

/** The raw key bytes of a (checked) key set: decoded, or derived from its passphrase. */
export function keyBytes(set: KeySetSettings): Buffer {
  const length = set.keySize / 8;
  if (set.derive === undefined) return decodeBytes(set.key as string, set.keyEncoding ?? 'hex') as Buffer;
  const password = Buffer.from(set.passphrase as string, 'utf8');
  const salt = set.salt === undefined ? undefined : (decodeBytes(set.salt, set.saltEncoding ?? 'utf8') as Buffer);
  const iterations = set.iterations ?? DEFAULT_ITERATIONS[set.derive];
  return set.derive === 'pbkdf2' ? pbkdf2Sha1(password, salt as Buffer, iterations, length) : passwordDeriveBytes(password, salt, iterations, length);
}

/** Bytes to append so that `length` becomes a whole number of blocks, per padding mode. */
function pad(plain: Buffer, padding: Padding, random: Random): Buffer {
  const rest = plain.length % BLOCK;
  if (padding === 'None') return plain; // the caller filled the text to a whole block
  if (padding === 'Zeros') return rest === 0 ? plain : Buffer.concat([plain, Buffer.alloc(BLOCK - rest)]);
  const n = BLOCK - rest; // 1..16: a whole block when already aligned
  const tail = padding === 'ISO10126' ? random.bytes(n) : Buffer.alloc(n, padding === 'PKCS7' ? n : 0);
  tail[n - 1] = n;
  return Buffer.concat([plain, tail]);
}

/**
 * The length of `data` without its padding, or -1 when the padding is wrong. Every byte of the
 * last block is looked at whatever the outcome, so a wrong byte does not return sooner.
 */
function unpaddedLength(data: Buffer, padding: Padding): number {
  if (padding === 'None') return data.length;
  if (padding === 'Zeros') {
    let end = data.length;
    while (end > 0 && data[end - 1] === 0) end--;
    return end;
  }
  const n = data[data.length - 1] as number;
  let bad = n < 1 || n > BLOCK ? 1 : 0;
  if (padding !== 'ISO10126') {
    const want = padding === 'PKCS7' ? n : 0;
    for (let i = 2; i <= BLOCK; i++) {
      const inPad = i <= n ? 1 : 0;
      bad |= inPad & ((data[data.length - i] as number) !== want ? 1 : 0);
    }
  }
  return bad ? -1 : data.length - n;
}

/**
 * One named key set ("API token"), ready to use: the key imported once, the IV decoded once.
 * `encrypt` gives the ciphertext bytes (GCM: nonce ‖ ciphertext ‖ tag); `decrypt` gives the
 * plaintext bytes or `undefined` for any failure (no reason, so that callers cannot tell a
 * padding failure from any other).
 */
export class KeySet {
  readonly name: string;
  readonly mode: Mode;
  readonly padding: Padding;
  readonly #algorithm: string;
  readonly #key: KeyObject;
  readonly #iv: Buffer | null;
  readonly #random: Random;

  constructor(set: KeySetSettings, random: Random) {
    this.name = set.name;
    this.mode = set.mode;
    this.padding = set.padding ?? 'None';
    this.#algorithm = `aes-${set.keySize}-${set.mode.toLowerCase()}`;
    this.#key = createSecretKey(keyBytes(set));
    this.#iv = set.initVector === undefined ? null : (decodeBytes(set.initVector, set.ivEncoding ?? 'utf16le') as Buffer);
    this.#random = random;
  }

  /** Whether plaintext must arrive already filled to whole blocks (padding None on a block mode). */
  get needsAlignedInput(): boolean {
    return this.mode !== 'GCM' && this.padding === 'None';
  }

  encrypt(plain: Buffer): Buffer {
    if (this.mode === 'GCM') {
      const nonce = this.#random.bytes(GCM_NONCE);
      const cipher = createCipheriv(this.#algorithm as 'aes-256-gcm', this.#key, nonce, { authTagLength: GCM_TAG });
      const body = cipher.update(plain);
      cipher.final();
      return Buffer.concat([nonce, body, cipher.getAuthTag()]);
    }
    const cipher = createCipheriv(this.#algorithm, this.#key, this.#iv);
    if (this.padding === 'PKCS7') return Buffer.concat([cipher.update(plain), cipher.final()]); // OpenSSL's own padding is PKCS7
    const padded = pad(plain, this.padding, this.#random);
    if (padded.length % BLOCK !== 0) throw new TypeError(`padding None: plaintext of ${padded.length} bytes is not a whole number of blocks`);
    cipher.setAutoPadding(false);
    return Buffer.concat([cipher.update(padded), cipher.final()]);
  }

  decrypt(data: Buffer): Buffer | undefined {
    try {
      if (this.mode === 'GCM') {
        if (data.length < GCM_NONCE + GCM_TAG) return undefined;
        const decipher = createDecipheriv(this.#algorithm as 'aes-256-gcm', this.#key, data.subarray(0, GCM_NONCE), { authTagLength: GCM_TAG });
        decipher.setAuthTag(data.subarray(data.length - GCM_TAG));
        const plain = decipher.update(data.subarray(GCM_NONCE, data.length - GCM_TAG));
        decipher.final(); // throws when the tag does not match
        return plain;
      }
      if (data.length === 0 || data.length % BLOCK !== 0) return undefined;
      const decipher = createDecipheriv(this.#algorithm, this.#key, this.#iv);
      decipher.setAutoPadding(false);
      const padded = Buffer.concat([decipher.update(data), decipher.final()]);
      const length = unpaddedLength(padded, this.padding);
      return length < 0 ? undefined : padded.subarray(0, length);
    } catch {
      return undefined;
    }
  }
}
