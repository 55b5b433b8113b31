import { timingSafeEqual } from 'node:crypto';
import { sha256Bytes } from './digest.js';
import type { Credential } from './policy/types.js';

interface Entry {
  readonly credential: Credential;
  readonly digest: Buffer;
}

const digestOf = sha256Bytes;
/** Compared against when the id is unknown, so that a miss costs the same as a hit. */
const DUMMY = digestOf('tokensmith/no-such-credential');

/**
 * A policy's credentials, indexed for constant-time checks. Secrets are compared as SHA-256
 * digests with `timingSafeEqual`, so neither content nor length leaks through timing; a
 * secret-only lookup (Melissa licences) compares against every entry without stopping early.
 *
 * @example
 * ```ts
 * const index = new CredentialIndex(policy.credentials ?? []);
 * const credential = index.match('123456', appKey); // undefined when wrong
 * ```
 */
export class CredentialIndex {
  readonly #byId = new Map<string, Entry>();
  readonly #all: Entry[] = [];

  constructor(credentials: readonly Credential[]) {
    for (const credential of credentials) {
      const entry = { credential, digest: digestOf(credential.secret) };
      this.#all.push(entry);
      if (credential.id !== undefined) this.#byId.set(credential.id, entry);
    }
  }

  /** The credential whose id (when given) and secret match, else `undefined`. */
  match(id: string | undefined, secret: string | undefined): Credential | undefined {
    return this.matchDigest(id, secret === undefined ? undefined : digestOf(secret));
  }

  /** As `match`, with the SHA-256 of the secret already made (the engine reuses it for lockout keys). */
  matchDigest(id: string | undefined, given: Buffer | undefined): Credential | undefined {
    if (given === undefined) return undefined;
    if (id !== undefined) {
      const entry = this.#byId.get(id);
      const equal = timingSafeEqual(given, entry?.digest ?? DUMMY);
      return entry !== undefined && equal ? entry.credential : undefined;
    }
    let found: Credential | undefined;
    for (const entry of this.#all) {
      if (timingSafeEqual(given, entry.digest) && found === undefined) found = entry.credential;
    }
    return found;
  }
}
