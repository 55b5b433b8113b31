import type { Outcome, Reply, ReplyEncoder } from '../../core/ports.js';
import { vendorStatus } from '../../core/reply.js';
import { xmlTemplate } from '../../core/xml.js';
import { melissaCode } from './codes.js';

/**
 * Melissa replies are 200 with the result code in the body, a rate limit 429 (the host adds the
 * error's headers, `Retry-After` on a lockout or a rate limit).
 */
function reply(outcome: Outcome, contentType: string, body: string): Reply {
  return { status: vendorStatus(outcome), contentType, body };
}

const fields = (outcome: Outcome) =>
  outcome.ok ? { Result: '', Token: outcome.token } : { Result: melissaCode(outcome.error), Token: '' };

const requestTokenResponse = xmlTemplate((slot) => ({ RequestTokenResponse: { Result: slot(0), Token: slot(1) } }));

/** `GET /v3/web/Service.svc/RequestToken`: `<RequestTokenResponse><Result></Result><Token>T:…</Token></RequestTokenResponse>`. */
export class MelissaXmlEncoder implements ReplyEncoder {
  encode(outcome: Outcome): Reply {
    const { Result, Token } = fields(outcome);
    return reply(outcome, 'application/xml; charset=utf-8', requestTokenResponse([Result, Token]));
  }
}

/** `GET /v3/json/Service.svc/RequestToken`: `{"Result":"","Token":"T:…"}`. */
export class MelissaJsonEncoder implements ReplyEncoder {
  encode(outcome: Outcome): Reply {
    return reply(outcome, 'application/json', JSON.stringify(fields(outcome)));
  }
}

/** The same-origin helper of the vendor's PHP sample: `[{"token":"T:…"}]`. */
export class MelissaGetTokenEncoder implements ReplyEncoder {
  encode(outcome: Outcome): Reply {
    const body = outcome.ok ? [{ token: outcome.token }] : [{ token: '', error: melissaCode(outcome.error) }];
    return reply(outcome, 'application/json', JSON.stringify(body));
  }
}

/** A Melissa web service's reply to a refused token: `{"Version":…,"ResultCode":"GE05","Results":[]}`. */
export class MelissaServiceEncoder implements ReplyEncoder {
  encode(outcome: Outcome): Reply {
    const code = outcome.ok ? '' : melissaCode(outcome.error);
    return reply(outcome, 'application/json', JSON.stringify({ Version: 'tokensmith', ResultCode: code, Results: [] }));
  }
}
