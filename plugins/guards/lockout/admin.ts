import { normalizeAddress } from '../../../core/address.js';
import { LockNotFoundError, RequestInvalidError } from '../../../core/errors.js';
import { failClosed } from '../../../core/fail-closed.js';
import type { Policy } from '../../../core/policy/types.js';
import { hasExpiringIndex, type Clock, type Store } from '../../../core/ports.js';
import { isPermanent } from './escalation.js';
import { fingerprintOf, historyKey, lockIndex, subjectOfKey, type LockKind, type LockNote } from './keys.js';
import { addressBucket } from '../../../core/address.js';
import { credentialPart } from './lockout.js';

/** One lock as an operator sees it (the JSON of `GET /admin/lockouts`): never a secret or its digest. */
export interface LockView {
  readonly kind: LockKind;
  /** For `kind: credential`: the credential id as sent (cut at 128 characters, with `…`). */
  readonly credential_id?: string;
  /** For `kind: address`: the address counted (an IPv6 address as its /64). */
  readonly address?: string;
  /** For `kind: secret`: a short keyed fingerprint (see `fingerprintOf`), to unlock it by. */
  readonly fingerprint?: string;
  /** Failed attempts counted in the lock's window. */
  readonly failures: number;
  /** When the lock started (ISO 8601, UTC). */
  readonly since: string;
  /** When it ends; `null` for a permanent lock. */
  readonly until: string | null;
  readonly permanent: boolean;
  /** Which lock of this key it is while escalation remembers them (1 without escalation). */
  readonly lock_number: number;
}

/** Which lock to lift: exactly one of these. */
export type LockTarget = { readonly credentialId: string } | { readonly address: string } | { readonly fingerprint: string };

/** Most locks a listing shows unless told otherwise, and at most. */
export const DEFAULT_LIST_LIMIT = 1_000;
export const MAX_LIST_LIMIT = 10_000;

const NO_FAILURES = { full() {}, unavailable() {} };
/** What a listing shows for a credential id that is a secret of the policy. */
const NOT_SHOWN = '(not shown: a secret of this policy)';

/**
 * Lists and lifts a policy's locks, for the admin API and the CLI. Locks are listed from the
 * policy's index (`ExpiringIndex`), which the lockout guard fills as each lock starts, never by
 * scanning the store; each listed lock's counter is read to show its failures and to skip a
 * lock lifted meanwhile. A store failure is `ERR_STORE_UNAVAILABLE`, as on a request.
 *
 * @example
 * ```ts
 * const admin = new LockoutAdmin(engine.store, engine.clock);
 * const locks = await admin.list(engine.policy('electa'));
 * await admin.unlock(engine.policy('electa'), { credentialId: '123456' });
 * ```
 */
export class LockoutAdmin {
  readonly #store: Store;
  readonly #clock: Clock;

  constructor(store: Store, clock: Clock) {
    this.#store = failClosed(store, NO_FAILURES);
    this.#clock = clock;
  }

  /** The policy's locks, ending soonest first; at most `limit`. */
  async list(policy: Policy, limit: number = DEFAULT_LIST_LIMIT): Promise<LockView[]> {
    const threshold = lockoutOf(policy).threshold;
    const store = this.#store;
    if (!hasExpiringIndex(store)) {
      throw new RequestInvalidError('this store cannot list locks; unlock by credential id or address still works', { policyId: policy.id, reason: 'store-cannot-list' });
    }
    const views: LockView[] = [];
    for (const entry of await store.indexList(lockIndex(policy), Math.min(Math.max(1, limit), MAX_LIST_LIMIT))) {
      const failures = Number((await store.get(entry.member)) ?? 0);
      if (failures < threshold) continue;
      views.push(this.#view(policy, entry.member, entry.value, entry.ttlMs, failures));
    }
    return views;
  }

  /**
   * Lifts the lock of `target`: its counter (the lock itself, with the failures it counted), its
   * escalation history and its index entry. Throws `LockNotFoundError` when the target is not
   * locked (nothing is changed then).
   */
  async unlock(policy: Policy, target: LockTarget): Promise<LockView> {
    const { threshold } = lockoutOf(policy);
    const store = this.#store;
    const key = await this.#keyOf(policy, target);
    const failures = key === undefined ? 0 : Number((await store.get(key)) ?? 0);
    if (key === undefined || failures < threshold) throw new LockNotFoundError(`no lock for that ${describe(target)} in policy ${policy.id}`, { policyId: policy.id });
    const ttl = (await store.ttl(key)) ?? 0;
    const note = hasExpiringIndex(store) ? (await store.indexList(lockIndex(policy), MAX_LIST_LIMIT)).find((e) => e.member === key)?.value : undefined;
    const view = this.#view(policy, key, note, ttl, failures);
    await store.delete(key);
    await store.delete(historyKey(key));
    if (hasExpiringIndex(store)) await store.indexRemove(lockIndex(policy), key);
    return view;
  }

  async #keyOf(policy: Policy, target: LockTarget): Promise<string | undefined> {
    if ('credentialId' in target) return `${policy.id}:lockout:c:${credentialPart({ credentialId: target.credentialId, address: '' })}`;
    if ('address' in target) {
      const text = target.address.endsWith('/64') ? target.address.slice(0, -3) : target.address;
      const normal = normalizeAddress(text);
      if (normal === undefined) throw new RequestInvalidError('address must be an IPv4 or IPv6 address (or the /64 a listing shows)', { policyId: policy.id, claim: 'address' });
      return `${policy.id}:lockout:a:${addressBucket(normal)}`;
    }
    const store = this.#store;
    if (!hasExpiringIndex(store)) return undefined;
    const entries = await store.indexList(lockIndex(policy), MAX_LIST_LIMIT);
    return entries.find((e) => fingerprintOf(policy, e.member) === target.fingerprint)?.member;
  }

  #view(policy: Policy, key: string, noteText: string | undefined, ttlMs: number, failures: number): LockView {
    const now = this.#clock.now();
    const note = parseNote(noteText);
    // Without the guard's note (a store that keeps no index), the key itself says what it can.
    const fromKey = subjectOfKey(policy, key);
    const kind: LockKind = note?.kind ?? fromKey.kind;
    const written = note?.text ?? fromKey.text;
    // A caller who typed a secret of the policy into the id field would otherwise have it listed.
    const text = kind === 'credential' && policy.credentials?.some((c) => c.secret === written) === true ? NOT_SHOWN : written;
    const permanent = isPermanent(ttlMs);
    const fingerprint = fingerprintOf(policy, key);
    return {
      kind,
      ...(kind === 'credential' && text !== undefined ? { credential_id: text } : {}),
      ...(kind === 'address' && text !== undefined ? { address: text } : {}),
      ...(fingerprint === undefined ? {} : { fingerprint }),
      failures,
      since: new Date(note?.since ?? now).toISOString(),
      until: permanent ? null : new Date(now + ttlMs).toISOString(),
      permanent,
      lock_number: note?.number ?? 1,
    };
  }
}

function lockoutOf(policy: Policy): NonNullable<Policy['lockout']> {
  if (policy.lockout === undefined) throw new RequestInvalidError(`policy ${policy.id} has no lockout`, { policyId: policy.id, claim: 'policy', reason: 'no-lockout' });
  return policy.lockout;
}

function describe(target: LockTarget): string {
  return 'credentialId' in target ? 'credential id' : 'address' in target ? 'address' : 'fingerprint';
}

/** A note as the guard wrote it; `undefined` for anything else (an index entry is never trusted to be well formed). */
function parseNote(text: string | undefined): LockNote | undefined {
  if (text === undefined) return undefined;
  try {
    const note = JSON.parse(text) as Partial<LockNote>;
    if (typeof note !== 'object' || note === null || !['credential', 'secret', 'address'].includes(note.kind as string)) return undefined;
    if (typeof note.since !== 'number' || typeof note.number !== 'number') return undefined;
    return note as LockNote;
  } catch {
    return undefined;
  }
}
