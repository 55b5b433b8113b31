import type { Outcome, Reply, ReplyEncoder } from '../../../core/ports.js';
import type { TokenSmithError } from '../../../core/errors.js';
import { hasCode, type LockedOutError } from '../../../core/errors.js';

/** What a client sees of an error: its code, and its message only when the error allows it. */
export function describeError(error: TokenSmithError): { error: string; error_description: string } {
  return { error: error.code, error_description: error.expose ? error.message : 'internal error' };
}

/** Extra headers an error asks for (`Retry-After` on a lockout). */
export function errorHeaders(error: TokenSmithError): Record<string, string> | undefined {
  // By code, not instanceof: the error may come from a plugin's own copy of tokensmith.
  return hasCode(error, 'ERR_LOCKED_OUT') ? { 'retry-after': String(Math.ceil((error as LockedOutError).retryAfterMs / 1000)) } : undefined;
}

/** A reply, with `headers` only when there are some (no conditional spread: it built an object a reply). */
export function replyWith(status: number, contentType: string, body: string, headers: Readonly<Record<string, string>> | undefined): Reply {
  return headers === undefined ? { status, contentType, body } : { status, contentType, body, headers };
}

/**
 * The generic JSON reply: `{"token": "…", "expires_in": 300}` on success,
 * `{"error": "ERR_…", "error_description": "…"}` with the error's HTTP status on failure.
 */
export class JsonEncoder implements ReplyEncoder {
  encode(outcome: Outcome): Reply {
    if (outcome.ok) {
      const expiresIn = Math.max(0, Math.round((outcome.record.expiresAt - outcome.record.issuedAt) / 1000));
      return { status: 200, contentType: 'application/json', body: JSON.stringify({ token: outcome.token, expires_in: expiresIn }) };
    }
    return replyWith(outcome.error.status, 'application/json', JSON.stringify(describeError(outcome.error)), errorHeaders(outcome.error));
  }
}
