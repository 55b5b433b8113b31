import type { Policy } from '../../core/policy/types.js';
import type { Outcome, Reply, ReplyEncoder } from '../../core/ports.js';
import { jsonErrorReply } from '../../core/reply.js';
import { PARAM } from './style.js';
import type { XdocSettings } from './schema.js';

/** The XDOC request parameters for a minted token: `XSC`, `XST` and, when there is one, `XUT`. */
function parameters(outcome: Extract<Outcome, { ok: true }>, policy: Policy): [string, string][] {
  const xut = outcome.record.claims?.[PARAM.user];
  return [
    [PARAM.context, (policy.settings as unknown as XdocSettings).context],
    [PARAM.security, outcome.token],
    ...(typeof xut === 'string' ? [[PARAM.user, xut] as [string, string]] : []),
  ];
}

/**
 * `{"XSC": "…", "XST": "<Base64>", "XUT": "<Base64>", "query": "XSC=…&XST=…&XUT=…", "expires_in": 300}`:
 * the tokens in standard Base64 and, in `query`, URL-encoded for an XDOC request URL. Failures
 * are the generic JSON error.
 */
export class XdocJsonEncoder implements ReplyEncoder {
  encode(outcome: Outcome, policy: Policy): Reply {
    if (!outcome.ok) return jsonErrorReply(outcome.error);
    const params = parameters(outcome, policy);
    const expiresIn = Math.max(0, Math.round((outcome.record.expiresAt - outcome.record.issuedAt) / 1000));
    const body = { ...Object.fromEntries(params), query: new URLSearchParams(params).toString(), expires_in: expiresIn };
    return { status: 200, contentType: 'application/json', body: JSON.stringify(body) };
  }
}

/** Just the query string `XSC=…&XST=…&XUT=…` (text/plain), to append to an XDOC URL. Failures are JSON. */
export class XdocQueryEncoder implements ReplyEncoder {
  encode(outcome: Outcome, policy: Policy): Reply {
    if (!outcome.ok) return jsonErrorReply(outcome.error);
    return { status: 200, contentType: 'text/plain; charset=utf-8', body: new URLSearchParams(parameters(outcome, policy)).toString() };
  }
}
