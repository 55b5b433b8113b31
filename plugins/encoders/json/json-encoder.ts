import { jsonErrorReply } from '../../../core/reply.js';
import type { Outcome, Reply, ReplyEncoder } from '../../../core/ports.js';

/**
 * The generic JSON reply: `{"token": "…", "expires_in": 300}` on success,
 * `{"error": "ERR_…", "error_description": "…"}` with the error's HTTP status on failure.
 */
export class JsonEncoder implements ReplyEncoder {
  encode(outcome: Outcome): Reply {
    if (!outcome.ok) return jsonErrorReply(outcome.error);
    const expiresIn = Math.max(0, Math.round((outcome.record.expiresAt - outcome.record.issuedAt) / 1000));
    return { status: 200, contentType: 'application/json', body: JSON.stringify({ token: outcome.token, expires_in: expiresIn }) };
  }
}
