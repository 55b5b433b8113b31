import type { Outcome, Reply, ReplyEncoder, Verified, VerifiedEncoder } from '../../core/ports.js';
import { errorHeaders, replyWith } from '../encoders/json/json-encoder.js';
import { csvField } from '../encoders/csv.js';
import { xml, xmlTemplate } from '../encoders/xml.js';
import { electaFailure } from './codes.js';

const response = xmlTemplate((slot) => ({ Response: { ResponseCode: slot(0), ResponseData: slot(1) } }));

/** The session's expiry as a launch reply states it: ISO 8601 UTC to the second. */
const expiry = (verified: Verified): string => new Date(verified.record.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * One field of a launch reply (RFC 4180): quoted when it holds a comma, a quote or a line break.
 * Launch fields were checked for control characters before the token, and the launch reply is
 * ours rather than a vendor reply read by splitting on commas, so quoting keeps the text exact.
 */
const quotedField = (value: string): string => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

/** Electa answers 200 with its code in the body; a lockout adds `Retry-After`. */
function result(outcome: Outcome): { code: number; data: string; headers: Record<string, string> | undefined } {
  if (outcome.ok) return { code: 0, data: outcome.token, headers: undefined };
  const { code, description } = electaFailure(outcome.error);
  return { code, data: description, headers: errorHeaders(outcome.error) };
}

/** `<Response><ResponseCode>0</ResponseCode><ResponseData>GUID</ResponseData></Response>`. */
export class ElectaXmlEncoder implements ReplyEncoder, VerifiedEncoder {
  encode(outcome: Outcome): Reply {
    const { code, data, headers } = result(outcome);
    const body = response([String(code), data]);
    return replyWith(200, 'text/xml', body, headers);
  }

  /** A launch: `<ResponseData>` holds the repeated parameters, one element each, then `<Expires>`. */
  encodeVerified(verified: Verified): Reply {
    const data = { ...Object.fromEntries(verified.echo), Expires: expiry(verified) };
    return replyWith(200, 'text/xml', xml({ Response: { ResponseCode: 0, ResponseData: data } }), undefined);
  }
}

/** `0,GUID` or `1,Invalid Account or Application Key`: one line of two fields, whatever the caller sent. */
export class ElectaCsvEncoder implements ReplyEncoder, VerifiedEncoder {
  encode(outcome: Outcome): Reply {
    const { code, data, headers } = result(outcome);
    return replyWith(200, 'text/csv', `${code},${csvField(data)}`, headers);
  }

  /** A launch: `0,` then the repeated parameters in the policy's order, then the expiry (RFC 4180 quoting). */
  encodeVerified(verified: Verified): Reply {
    const fields = ['0', ...verified.echo.map(([, value]) => quotedField(value)), expiry(verified)];
    return replyWith(200, 'text/csv', fields.join(','), undefined);
  }
}
