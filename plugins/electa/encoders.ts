import type { Outcome, Reply, ReplyEncoder } from '../../core/ports.js';
import { errorHeaders } from '../encoders/json/json-encoder.js';
import { xmlTemplate } from '../encoders/xml.js';

const response = xmlTemplate((slot) => ({ Response: { ResponseCode: slot(0), ResponseData: slot(1) } }));
import { electaFailure } from './codes.js';

/** Electa answers 200 with its code in the body; a lockout adds `Retry-After`. */
function result(outcome: Outcome): { code: number; data: string; headers: Record<string, string> | undefined } {
  if (outcome.ok) return { code: 0, data: outcome.token, headers: undefined };
  const { code, description } = electaFailure(outcome.error);
  return { code, data: description, headers: errorHeaders(outcome.error) };
}

/** `<Response><ResponseCode>0</ResponseCode><ResponseData>GUID</ResponseData></Response>`. */
export class ElectaXmlEncoder implements ReplyEncoder {
  encode(outcome: Outcome): Reply {
    const { code, data, headers } = result(outcome);
    const body = response([String(code), data]);
    return { status: 200, contentType: 'text/xml', body, ...(headers === undefined ? {} : { headers }) };
  }
}

/** `0,GUID` or `1,Invalid Account or Application Key`. */
export class ElectaCsvEncoder implements ReplyEncoder {
  encode(outcome: Outcome): Reply {
    const { code, data, headers } = result(outcome);
    return { status: 200, contentType: 'text/csv', body: `${code},${data}`, ...(headers === undefined ? {} : { headers }) };
  }
}
