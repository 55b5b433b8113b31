import type { Outcome, Reply, ReplyEncoder, Verified, VerifiedEncoder } from '../../core/ports.js';
import { csvField } from '../../core/csv.js';
import { vendorStatus } from '../../core/reply.js';
import { xml, xmlTemplate } from '../../core/xml.js';
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

/** Electa answers 200 with its code in the body, a rate limit 429 (the host adds the error's headers, `Retry-After` on a lockout or a rate limit). */
function result(outcome: Outcome): { code: number; data: string } {
  if (outcome.ok) return { code: 0, data: outcome.token };
  const { code, description } = electaFailure(outcome.error);
  return { code, data: description };
}

/** `<Response><ResponseCode>0</ResponseCode><ResponseData>GUID</ResponseData></Response>`. */
export class ElectaXmlEncoder implements ReplyEncoder, VerifiedEncoder {
  encode(outcome: Outcome): Reply {
    const { code, data } = result(outcome);
    const body = response([String(code), data]);
    return { status: vendorStatus(outcome), contentType: 'text/xml', body };
  }

  /** A launch: `<ResponseData>` holds the repeated parameters, one element each, then `<Expires>`. */
  encodeVerified(verified: Verified): Reply {
    const data = { ...Object.fromEntries(verified.echo), Expires: expiry(verified) };
    return { status: 200, contentType: 'text/xml', body: xml({ Response: { ResponseCode: 0, ResponseData: data } }) };
  }
}

/** `0,GUID` or `1,Invalid Account or Application Key`: one line of two fields, whatever the caller sent. */
export class ElectaCsvEncoder implements ReplyEncoder, VerifiedEncoder {
  encode(outcome: Outcome): Reply {
    const { code, data } = result(outcome);
    return { status: vendorStatus(outcome), contentType: 'text/csv', body: `${code},${csvField(data)}` };
  }

  /** A launch: `0,` then the repeated parameters in the policy's order, then the expiry (RFC 4180 quoting). */
  encodeVerified(verified: Verified): Reply {
    const fields = ['0', ...verified.echo.map(([, value]) => quotedField(value)), expiry(verified)];
    return { status: 200, contentType: 'text/csv', body: fields.join(',') };
  }
}
