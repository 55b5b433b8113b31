import type { Outcome, Reply, ReplyEncoder } from '../../core/ports.js';
import { errorHeaders, replyWith } from '../encoders/json/json-encoder.js';
import { csvField } from '../encoders/csv.js';
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
    return replyWith(200, 'text/xml', body, headers);
  }
}

/** `0,GUID` or `1,Invalid Account or Application Key`: one line of two fields, whatever the caller sent. */
export class ElectaCsvEncoder implements ReplyEncoder {
  encode(outcome: Outcome): Reply {
    const { code, data, headers } = result(outcome);
    return replyWith(200, 'text/csv', `${code},${csvField(data)}`, headers);
  }
}
