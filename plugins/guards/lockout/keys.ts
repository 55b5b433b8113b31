import { createHmac } from 'node:crypto';
import { sha256Bytes } from '../../../core/digest.js';
import type { Policy } from '../../../core/policy/types.js';

/** What a lock is kept against: a credential id, a secret (its digest), or a client address. */
export type LockKind = 'credential' | 'secret' | 'address';

/** What the lockout guard keeps about a lock in the policy's index (JSON), beside its counter. */
export interface LockNote {
  readonly kind: LockKind;
  /** The credential id as sent (at most {@link NOTE_TEXT_MAX} characters) or the address counted; never for a secret. */
  readonly text?: string;
  /** When the lock started, ms epoch (the engine's clock). */
  readonly since: number;
  /** Which lock of this key it is within `escalation.resetAfter` (1 without escalation). */
  readonly number: number;
}

/** Longest credential id kept in a lock's note: an id is the caller's text, and the note lives as long as the lock. */
export const NOTE_TEXT_MAX = 128;

/** The index that lists a policy's locks. */
export const lockIndex = (policy: Policy): string => `${policy.id}:lockouts`;

/** Where a lock key's earlier locks are counted (escalation): beside it, never under its prefix. */
export const historyKey = (lockKey: string): string => lockKey.replace(':lockout:', ':lockout-history:');

/** The kind of a lock key and the text a listing shows for it (see `LockoutGuard.keys` for the layout). */
export function subjectOfKey(policy: Policy, key: string, subject?: { credentialId?: string | undefined }): { kind: LockKind; text?: string } {
  const part = key.slice(`${policy.id}:lockout:`.length);
  if (part.startsWith('a:')) return { kind: 'address', text: part.slice(2) };
  if (part.startsWith('c:s:')) return { kind: 'secret' };
  const id = subject?.credentialId ?? (part.startsWith('c:i:') ? part.slice(4) : undefined);
  return id === undefined ? { kind: 'credential' } : { kind: 'credential', text: id.length > NOTE_TEXT_MAX ? `${id.slice(0, NOTE_TEXT_MAX)}…` : id };
}

/**
 * A short name for a secret-keyed lock that says nothing about the secret: an HMAC-SHA256 of
 * the key's digest part under a key made from every secret the policy lists, cut to 12
 * base64url characters (72 bits). The store key holds a plain SHA-256 prefix of the wrong
 * secret; showing that would let whoever reads the listing test guesses at it offline. The
 * fingerprint cannot be tested without the policy's own secrets, and every host (and the CLI
 * with the same policies) computes the same one.
 */
export function fingerprintOf(policy: Policy, key: string): string | undefined {
  const part = key.slice(`${policy.id}:lockout:`.length);
  if (!part.startsWith('c:s:')) return undefined;
  const secrets = (policy.credentials ?? []).map((c) => c.secret).sort();
  const hmacKey = sha256Bytes(['tokensmith/lockout-fingerprint', policy.id, ...secrets].join('\u0000'));
  return createHmac('sha256', hmacKey).update(Buffer.from(part.slice(4), 'base64url')).digest('base64url').slice(0, 12);
}
