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

/** 1 when bytes `a` and `b` differ, else 0: arithmetic rather than a comparison that might branch. */
const differs = (a: number, b: number): number => ((a ^ b) + 0xff) >> 8;
/** 1 when `a <= b` (small integers), else 0: from the sign of `b - a`, not a comparison. */
const atMost = (a: number, b: number): number => 1 ^ ((b - a) >>> 31);

/** Where a decrypted text ends once its padding is taken off, and whether the padding was right. */
interface Unpadded {
  readonly end: number;
  readonly intact: boolean;
}

/**
 * Takes the padding off `data` (whole blocks, at least one) doing the same work whatever its
 * bytes: every byte of the last block is looked at, no branch or early return depends on them,
 * and a wrong padding still gives an `end` (read from the last byte, as if it were right), so
 * that what the caller does next takes the same time too. Only the padding mode, which is the
 * policy's and public, chooses a path.
 */
function unpad(data: Buffer, padding: Padding): Unpadded {
  const length = data.length;
  if (padding === 'None') return { end: length, intact: true };
  if (padding === 'Zeros') {
    // Every trailing NUL is padding (Zeros cannot tell it from text): counted over the whole text.
    let zeros = 0;
    let run = 1;
    for (let i = length - 1; i >= 0; i--) {
      run &= 1 ^ differs(data[i] as number, 0);
      zeros += run;
    }
    return { end: length - zeros, intact: true };
  }
  const n = data[length - 1] as number;
  let bad = 1 ^ (atMost(1, n) & atMost(n, BLOCK));
  // ISO 10126 fills with random bytes: only its last byte (the count) can be checked.
  const checked = padding === 'ISO10126' ? 0 : 1;
  const fill = padding === 'PKCS7' ? n : 0;
  for (let i = 2; i <= BLOCK; i++) bad |= checked & atMost(i, n) & differs(data[length - i] as number, fill);
  // The count taken into 1..BLOCK whatever the byte was, so a wrong one still gives an end.
  return { end: length - (((n - 1) & (BLOCK - 1)) + 1), intact: bad === 0 };
}

/**
 * What a key set made of a token's bytes: the text without its padding, and whether the padding
 * was right. A text with a wrong padding must be thrown away; it is there so that the caller can
 * do the same work with it (parse it) as with a right one.
 */
export interface Unsealed {
  readonly plain: Buffer;
  readonly intact: boolean;
}

/**
 * One named key set ("API token"), ready to use: the key imported once, the IV decoded once.
 * `encrypt` gives the ciphertext bytes (GCM: nonce ‖ ciphertext ‖ tag); `decrypt` gives the
 * plaintext bytes or `undefined` for any failure (no reason, so that callers cannot tell a
 * padding failure from any other); `unseal` also gives the text of a wrong padding, for a caller
 * that must spend the same time on it before refusing it.
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

  /** The plaintext bytes, or `undefined` for any failure (no reason, so no padding oracle). */
  decrypt(data: Buffer): Buffer | undefined {
    const unsealed = this.unseal(data);
    return unsealed?.intact ? unsealed.plain : undefined;
  }

  /**
   * The plaintext, with whether its padding was right; `undefined` only for what the length
   * alone shows (not whole blocks, empty) and for a failed GCM tag. CBC and ECB decrypt with
   * OpenSSL's padding off and check it in {@link unpad}, in the same time whatever it holds.
   */
  unseal(data: Buffer): Unsealed | undefined {
    try {
      if (this.mode === 'GCM') {
        if (data.length < GCM_NONCE + GCM_TAG) return undefined;
        const decipher = createDecipheriv(this.#algorithm as 'aes-256-gcm', this.#key, data.subarray(0, GCM_NONCE), { authTagLength: GCM_TAG });
        decipher.setAuthTag(data.subarray(data.length - GCM_TAG));
        const plain = decipher.update(data.subarray(GCM_NONCE, data.length - GCM_TAG));
        decipher.final(); // throws when the tag does not match
        return { plain, intact: true };
      }
      if (data.length === 0 || data.length % BLOCK !== 0) return undefined;
      const decipher = createDecipheriv(this.#algorithm, this.#key, this.#iv);
      decipher.setAutoPadding(false);
      const padded = Buffer.concat([decipher.update(data), decipher.final()]);
      const { end, intact } = unpad(padded, this.padding);
      return { plain: padded.subarray(0, end), intact };
    } catch {
      return undefined;
    }
  }
}
