import type { TokenSmithError } from '../../core/errors.js';
import type { Policy } from '../../core/policy/types.js';
import type { Outcome, Reply, ReplyEncoder, Verified, VerifiedEncoder } from '../../core/ports.js';
import { jsonErrorReply } from '../../core/reply.js';
import { XdocJsonEncoder } from './encoders.js';

/**
 * XWS result codes for our errors. XDOC's codes follow HTTP's; every refusal of a token is
 * `403 Security Validation Failed` (the vendor's one wording for a token that is missing,
 * undecryptable, expired or for another context), so a caller learns no more from the headers
 * than from the JSON body.
 */
function xwsResult(error: TokenSmithError): { code: number; info: string } {
  if (error.status === 401 || error.status === 403) return { code: 403, info: 'Security Validation Failed' };
  if (error.status === 429) return { code: 429, info: 'Too Many Requests' };
  if (error.status === 503) return { code: 503, info: 'Service Unavailable' };
  if (error.status >= 500) return { code: 500, info: 'Internal Error' };
  return { code: 400, info: 'Bad Request' };
}

/**
 * A header value from JSON text: every character outside printable ASCII is written as a JSON
 * `\uXXXX` escape, so the value never carries a line break or a character Node would refuse in
 * a header (which would turn the reply into a 500), and still parses as the same JSON.
 */
export function headerJson(value: unknown): string {
  return JSON.stringify(value).replace(/[^\x20-\x7E]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function xwsHeaders(success: boolean, code: number, info: string, returnData: string, errorCode: number, errorInfo: string): Record<string, string> {
  return {
    XwsSuccess: success ? '1' : '0',
    XwsReturnData: returnData,
    XwsResultCode: String(code),
    XwsResultInfo: info,
    XwsErrorCode: String(errorCode),
    XwsErrorInfo: errorInfo,
  };
}

const minted = new XdocJsonEncoder();

/**
 * The reply of an XWS service (XDOC's consuming side, format `xws`): today's JSON body, and on
 * every reply the `Xws*` headers integrators read — `XwsSuccess` `1`/`0`, `XwsReturnData` (the
 * verified token's record as JSON), `XwsResultCode` / `XwsResultInfo` (`0 Success`, or
 * `403 Security Validation Failed` for a refused token), `XwsErrorCode` / `XwsErrorInfo`
 * (`0` and empty, or the code and our stable error code). Header values hold printable ASCII only.
 */
export class XdocXwsEncoder implements ReplyEncoder, VerifiedEncoder {
  encode(outcome: Outcome, policy: Policy): Reply {
    if (outcome.ok) {
      const reply = minted.encode(outcome, policy);
      return { ...reply, headers: xwsHeaders(true, 0, 'Success', '', 0, '') };
    }
    const { code, info } = xwsResult(outcome.error);
    return { ...jsonErrorReply(outcome.error), headers: xwsHeaders(false, code, info, '', code, outcome.error.code) };
  }

  encodeVerified(verified: Verified): Reply {
    const { record } = verified;
    const body = {
      ok: true,
      policy: record.policyId,
      sub: record.subject,
      scope: record.scopes,
      exp: Math.floor(record.expiresAt / 1000),
    };
    // Only what the request sent: an XWS method (`XM`) left out is not shown as an empty one.
    const sent = verified.echo.filter(([, value]) => value !== '');
    if (sent.length) Object.assign(body, { echo: Object.fromEntries(sent) });
    return { status: 200, contentType: 'application/json', body: JSON.stringify(body), headers: xwsHeaders(true, 0, 'Success', headerJson(body), 0, '') };
  }
}
