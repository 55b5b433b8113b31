import { sha256 } from '../../../core/digest.js';
import { LockedOutError, StoreFullError } from '../../../core/errors.js';
import type { Policy } from '../../../core/policy/types.js';
import { hasCounterRoom, type Store, type TokenRequest } from '../../../core/ports.js';
import { formatDuration } from '../../../core/duration.js';
import { normalizeAddress } from '../../../core/address.js';

/** The subjects a failed attempt is counted against: the credential and/or the address. */
export interface LockoutSubject {
  /** Credential id as sent (Electa's `CID`): not a secret; kept as is when short and plain, else hashed. */
  readonly credentialId?: string | undefined;
  /** For secret-only styles (a Melissa licence), the SHA-256 of the secret as sent: a secret never reaches a key. */
  readonly secretDigest?: Buffer | undefined;
  /** The caller's address; IPv6 addresses are counted per /64. */
  readonly address: string;
}

/** Ids that can stand in a store key as they are; anything else is hashed (bounded length, no odd bytes). */
const PLAIN_ID = /^[A-Za-z0-9._@-]{1,64}$/;

function credentialPart(subject: LockoutSubject): string | undefined {
  const { credentialId, secretDigest } = subject;
  if (credentialId !== undefined) return PLAIN_ID.test(credentialId) ? `i:${credentialId}` : `h:${sha256(credentialId).slice(0, 22)}`;
  return secretDigest === undefined ? undefined : `s:${secretDigest.toString('base64url', 0, 16)}`;
}

/**
 * What an address is counted as: an IPv4 address as itself, an IPv6 address as its /64. One
 * subscriber or host is given a whole /64, so counting single IPv6 addresses would let a caller
 * start afresh with each of its 2^64 addresses (and fill the store with counters); hosts that
 * share a /64 share its count.
 *
 * @example addressPart('2001:db8:1:2:a:b:c:d') // '2001:db8:1:2::/64'
 */
function addressPart(address: string): string {
  const normal = normalizeAddress(address) ?? address;
  if (!normal.includes(':')) return normal;
  const [head = '', tail = ''] = normal.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const zeros = Array.from({ length: Math.max(0, 8 - left.length - right.length) }, () => '0');
  const groups = [...left, ...zeros, ...right];
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/**
 * Lockout guard. One counter per subject (credential and/or address), incremented with the
 * store's atomic `increment` within the policy's window. The failure that reaches the threshold
 * rewrites the counter with the lock duration as its lifetime, so the counter itself is the
 * lock: a subject is locked while its count is at or above the threshold, and starts afresh
 * when the lock ends. Attempts are checked against the lock before the secret is compared.
 * Under concurrency, attempts that raced past the check are refused as locked once their
 * increment lands above the threshold, so exactly `threshold` failures are ever reported as
 * wrong credentials.
 *
 * A success clears only what it proved: the count of the credential the caller presented and
 * proved (its id, or for secret-only styles the digest of its secret). It never clears an
 * address's count — knowing one credential says nothing about the other guesses made from the
 * same address — and a request whose credential the route supplied (`TokenRequest.preset`, a
 * same-origin helper) clears nothing at all. Address counts end only with their window or lock.
 */
export class LockoutGuard {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** What a key of {@link LockoutGuard.keys} counts: a credential (or secret) or an address. */
  static subjectOf(key: string): 'credential' | 'address' {
    return key.includes(':lockout:a:') ? 'address' : 'credential';
  }

  /** Store keys for this policy and subject (empty when the policy has no lockout). */
  keys(policy: Policy, subject: LockoutSubject): string[] {
    const lockout = policy.lockout;
    if (lockout === undefined) return [];
    const keys: string[] = [];
    for (const per of lockout.per) {
      const credential = per === 'credential' ? credentialPart(subject) : undefined;
      if (credential !== undefined) {
        keys.push(`${policy.id}:lockout:c:${credential}`);
      } else if (per === 'address') {
        keys.push(`${policy.id}:lockout:a:${addressPart(subject.address)}`);
      }
    }
    return keys;
  }

  /**
   * Throws `LockedOutError` when any of the keys is locked; else returns the keys that hold
   * failures, so that a success resets only those (no store write on the common path).
   * Throws `StoreFullError` when a failure of this attempt would need a counter the store has
   * no room for: it is refused before its secret is compared, so no guess goes uncounted.
   */
  async assertOpen(policy: Policy, keys: readonly string[]): Promise<string[]> {
    const threshold = policy.lockout?.threshold ?? Infinity;
    const counted: string[] = [];
    let uncounted = 0;
    for (const key of keys) {
      const count = Number((await this.#store.get(key)) ?? 0);
      if (count >= threshold) throw this.#locked(policy, (await this.#store.ttl(key)) ?? 0);
      if (count > 0) counted.push(key);
      else uncounted++;
    }
    if (uncounted > 0 && hasCounterRoom(this.#store) && !(await this.#store.roomForCounters(uncounted))) {
      throw new StoreFullError('the token store is full (lockout counters); try again later', { policyId: policy.id });
    }
    return counted;
  }

  /**
   * Counts one failure; returns the `LockedOutError` to throw when this attempt is past the
   * threshold. `engaged` is called once per key whose lock this attempt starts, with that key.
   */
  async fail(policy: Policy, keys: readonly string[], engaged?: (key: string) => void): Promise<LockedOutError | undefined> {
    const lockout = policy.lockout;
    if (lockout === undefined) return undefined;
    let past: LockedOutError | undefined;
    for (const key of keys) {
      const { count } = await this.#store.increment(key, lockout.windowMs);
      if (count === lockout.threshold) {
        await this.#store.put(key, String(count), lockout.durationMs);
        engaged?.(key);
      } else if (count > lockout.threshold) {
        past = this.#locked(policy, (await this.#store.ttl(key)) ?? lockout.durationMs);
      }
    }
    return past;
  }

  /**
   * A success: resets the count of the credential the caller proved, among `counted` (what
   * `assertOpen` returned). Address counts stay; a request on a `preset` route (the route
   * supplied the credential) resets nothing.
   */
  async succeed(policy: Policy, counted: readonly string[], request: Pick<TokenRequest, 'preset'>): Promise<void> {
    if (request.preset === true) return;
    const credentialKeys = `${policy.id}:lockout:c:`;
    for (const key of counted) if (key.startsWith(credentialKeys)) await this.#store.delete(key);
  }

  #locked(policy: Policy, remainingMs: number): LockedOutError {
    const seconds = Math.max(1, Math.ceil(remainingMs / 1000));
    return new LockedOutError(
      `too many failed attempts: locked for ${formatDuration(seconds * 1000)} more (of ${formatDuration(policy.lockout?.durationMs ?? 0)})`,
      seconds * 1000,
      { policyId: policy.id },
    );
  }
}
