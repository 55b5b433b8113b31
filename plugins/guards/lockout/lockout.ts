import { sha256 } from '../../../core/digest.js';
import { LockedOutError, StoreFullError } from '../../../core/errors.js';
import type { Policy } from '../../../core/policy/types.js';
import { hasCounterRoom, hasExpiringIndex, type Clock, type Store, type TokenRequest } from '../../../core/ports.js';
import { SystemClock } from '../../../core/clock.js';
import { formatDuration } from '../../../core/duration.js';
import { addressBucket } from '../../../core/address.js';
import { PERMANENT_MS, escalationOf, isPermanent, lockLength } from './escalation.js';
import { historyKey, lockIndex, subjectOfKey, type LockNote } from './keys.js';

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

export function credentialPart(subject: LockoutSubject): string | undefined {
  const { credentialId, secretDigest } = subject;
  if (credentialId !== undefined) return PLAIN_ID.test(credentialId) ? `i:${credentialId}` : `h:${sha256(credentialId).slice(0, 22)}`;
  return secretDigest === undefined ? undefined : `s:${secretDigest.toString('base64url', 0, 16)}`;
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
  readonly #clock: Clock;

  constructor(store: Store, clock: Clock = new SystemClock()) {
    this.#store = store;
    this.#clock = clock;
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
        keys.push(`${policy.id}:lockout:a:${addressBucket(subject.address)}`);
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
   * threshold. `engaged` is called once per key whose lock this attempt starts, with that key; `subject` (the
   * keys' subject) names the credential id in the lock's listing.
   */
  async fail(
    policy: Policy,
    keys: readonly string[],
    { engaged, subject }: { engaged?: (key: string) => void; subject?: LockoutSubject } = {},
  ): Promise<LockedOutError | undefined> {
    const lockout = policy.lockout;
    if (lockout === undefined) return undefined;
    let past: LockedOutError | undefined;
    for (const key of keys) {
      const { count } = await this.#store.increment(key, lockout.windowMs);
      if (count === lockout.threshold) {
        await this.#lock(policy, key, count, subject);
        engaged?.(key);
      } else if (count > lockout.threshold) {
        past = this.#locked(policy, (await this.#store.ttl(key)) ?? lockout.durationMs);
      }
    }
    return past;
  }

  /**
   * Starts a lock: the counter, rewritten with the lock's length as its lifetime, is the lock.
   * With `escalation`, the key's earlier locks (counted under a key of their own that outlives
   * the lock by `resetAfter`) make it longer, or permanent. The lock is then added to the
   * policy's index, when the store keeps one, so that an operator can list it; only this
   * attempt (the one whose increment reached the threshold) starts it, on one host or many.
   */
  async #lock(policy: Policy, key: string, count: number, subject: LockoutSubject | undefined): Promise<void> {
    const escalation = escalationOf(policy);
    let number = 1;
    if (escalation !== undefined) {
      const history = historyKey(key);
      number = (await this.#store.increment(history, escalation.resetAfterMs)).count;
    }
    const { kind, text } = subjectOfKey(policy, key, subject);
    const id = subject?.credentialId;
    const knownId = kind === 'credential' && id !== undefined && policy.credentials?.some((c) => c.id === id) === true;
    const length = lockLength(policy, number, knownId);
    await this.#store.put(key, String(count), length);
    if (escalation !== undefined) await this.#store.put(historyKey(key), String(number), Math.min(length, PERMANENT_MS) + escalation.resetAfterMs);
    const store = this.#store;
    if (hasExpiringIndex(store)) {
      const note: LockNote = { kind, ...(text === undefined ? {} : { text }), since: this.#clock.now(), number };
      await store.indexAdd(lockIndex(policy), key, JSON.stringify(note), length);
    }
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
    if (isPermanent(remainingMs)) {
      return new LockedOutError('too many failed attempts: locked until an operator lifts the lock', undefined, { policyId: policy.id });
    }
    const seconds = Math.max(1, Math.ceil(remainingMs / 1000));
    // With escalation a lock's length depends on the key's history, which the refusal does not read.
    const of = escalationOf(policy) === undefined ? ` (of ${formatDuration(policy.lockout?.durationMs ?? 0)})` : '';
    return new LockedOutError(`too many failed attempts: locked for ${formatDuration(seconds * 1000)} more${of}`, seconds * 1000, { policyId: policy.id });
  }
}
