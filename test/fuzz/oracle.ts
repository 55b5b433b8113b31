import { ELECTA_CSV, readXml } from '../helpers/wellformed.js';
import type { FuzzReply, FuzzRequest } from './client.js';

/** What a stack trace or a file position looks like in a reply. */
const STACK = /\n\s+at \S|node:internal|node_modules|\/dist\/|\.[jt]s:\d+:\d+/;
/** One Prometheus exposition line (comments, samples). */
const PROMETHEUS_LINE = /^(#.*|[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? \S+)$/;
const QUERY_NAMES = new Set(['XSC', 'XST', 'XUT']);

/** Replies that say "internal error" in a vendor's own code: 200 on the wire, a 5xx in substance. */
function internalInSubstance(body: unknown): boolean {
  if (body === null || typeof body !== 'object') return false;
  const record = (Array.isArray(body) ? body[0] : body) as Record<string, unknown> | undefined;
  if (record === undefined || record === null || typeof record !== 'object') return false;
  return record['error'] === 'ERR_INTERNAL' || record['Result'] === 'TE99' || record['ResultCode'] === 'TE99' || record['error'] === 'TE99';
}

/**
 * What is wrong with a reply, or `undefined`: a 5xx other than the documented 503 of a store
 * outage, an internal error in a vendor's code, a stack trace, or a body that is not
 * well-formed in the format its content type names (JSON parses; XML parses strictly and holds
 * only XML 1.0 characters; CSV is Electa's one line `code,description`; plain text is empty,
 * the Prometheus exposition or XDOC's query string).
 */
export async function problemWith(req: FuzzRequest, reply: FuzzReply): Promise<string | undefined> {
  const { status, body } = reply;
  if (status >= 500 && !(status === 503 && body.includes('ERR_STORE_UNAVAILABLE'))) return `status ${status}`;
  if (STACK.test(body)) return 'a stack trace or file position in the reply';
  const type = String(reply.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (req.method === 'HEAD' || body === '') return undefined;
  try {
    switch (type) {
      case 'application/json': {
        const parsed: unknown = JSON.parse(body);
        return internalInSubstance(parsed) ? 'an internal error in the reply' : undefined;
      }
      case 'application/xml':
      case 'text/xml': {
        const parsed = (await readXml(body)) as { Response?: { ResponseCode?: string[] }; RequestTokenResponse?: { Result?: string[] } };
        if (parsed.Response?.ResponseCode?.[0] === '9' || parsed.RequestTokenResponse?.Result?.[0] === 'TE99') return 'an internal error in the reply';
        return undefined;
      }
      case 'text/csv':
        if (!ELECTA_CSV.test(body)) return 'CSV that is not one line code,description';
        return body.startsWith('9,') ? 'an internal error in the reply' : undefined;
      case 'text/plain':
        if (body.split('\n').every((line) => line === '' || PROMETHEUS_LINE.test(line))) return undefined;
        if ([...new URLSearchParams(body).keys()].every((name) => QUERY_NAMES.has(name))) return undefined;
        return 'plain text that is neither metrics nor an XDOC query';
      case 'text/html':
      case 'text/javascript':
        return new URL(req.path, 'http://host').pathname.startsWith('/demo/melissa') ? undefined : `${type} outside the demo`;
      default:
        return `a body with content type "${type}"`;
    }
  } catch (err) {
    return `a ${type} body that does not parse: ${(err as Error).message.split('\n')[0]}`;
  }
}
