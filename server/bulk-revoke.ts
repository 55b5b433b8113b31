import type { BulkRevoked, Engine, TokenOwner } from '../core/engine.js';
import { RequestInvalidError } from '../core/errors.js';

/** A bulk revocation as asked: the policy and whose tokens. */
export interface BulkRevocationAsked {
  readonly policy: string;
  readonly owner: TokenOwner;
}

/** The JSON answer to a bulk revocation (`POST /revoke` by `credential_id` or `sub`, `tokensmith revoke`). */
export interface BulkRevocationAnswer {
  readonly policy: string;
  readonly credential_id?: string;
  readonly sub?: string;
  /** Opaque sessions deleted (a policy whose tokens are kept in the store). */
  readonly revoked?: number;
  /** Self-contained tokens: every one of the owner issued at or before this instant (ISO 8601) is refused. */
  readonly not_before?: string;
}

const text = (body: Readonly<Record<string, unknown>>, name: string): string | undefined => {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new RequestInvalidError(`parameter ${name} must be non-empty text`, { claim: name });
  return value;
};

/**
 * The bulk revocation a `POST /revoke` body asks for, or `undefined` when it names neither
 * `credential_id` nor `sub` (an RFC 7009 revocation of one `token`). It names exactly one of the
 * two, with `policy`, and no `token`: a mix is refused rather than guessed at.
 */
export function bulkRevocationOf(body: Readonly<Record<string, unknown>>): BulkRevocationAsked | undefined {
  const credentialId = text(body, 'credential_id');
  const subject = text(body, 'sub');
  if (credentialId === undefined && subject === undefined) return undefined;
  if (credentialId !== undefined && subject !== undefined) {
    throw new RequestInvalidError('give credential_id or sub, not both (one revocation per call)', { claim: 'sub' });
  }
  if (body['token'] !== undefined) throw new RequestInvalidError('give token, or credential_id or sub, not both', { claim: 'token' });
  const policy = text(body, 'policy');
  if (policy === undefined) throw new RequestInvalidError('parameter policy is required with credential_id or sub', { claim: 'policy' });
  return { policy, owner: credentialId === undefined ? { subject: subject as string } : { credentialId } };
}

/** Runs a bulk revocation and says what it did, as `POST /revoke` answers it. */
export async function revokeInBulk(engine: Engine, asked: BulkRevocationAsked): Promise<BulkRevocationAnswer> {
  const done: BulkRevoked = await engine.revokeAll(asked.policy, asked.owner);
  const { owner } = asked;
  return {
    policy: asked.policy,
    ...('credentialId' in owner ? { credential_id: owner.credentialId } : { sub: owner.subject }),
    ...('revoked' in done ? { revoked: done.revoked } : { not_before: new Date(done.notBefore).toISOString() }),
  };
}
