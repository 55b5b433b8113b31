// An outside reply encoder: format `kv` renders replies as `key=value` lines, for any style
// (a policy allows it with `output: { allowed: [json, kv] }`). Errors show their message only
// when the error allows it, and a lockout says when to come back, as every encoder must.
import { definePlugin } from 'tokensmith';

/** One line per field; values never hold a line break (a token or code never does; messages are cut at one). */
const lines = (fields) => `${Object.entries(fields).map(([key, value]) => `${key}=${String(value).split(/[\r\n]/)[0]}`).join('\n')}\n`;

class KeyValueEncoder {
  encode(outcome) {
    if (outcome.ok) {
      const expiresIn = Math.max(0, Math.round((outcome.record.expiresAt - outcome.record.issuedAt) / 1000));
      return { status: 200, contentType: 'text/plain; charset=utf-8', body: lines({ token: outcome.token, expires_in: expiresIn }) };
    }
    const { error } = outcome;
    const retry = error.code === 'ERR_LOCKED_OUT' ? { 'retry-after': String(Math.ceil(error.retryAfterMs / 1000)) } : undefined;
    return {
      status: error.status,
      contentType: 'text/plain; charset=utf-8',
      body: lines({ error: error.code, error_description: error.expose ? error.message : 'internal error' }),
      ...(retry ? { headers: retry } : {}),
    };
  }
}

export default definePlugin({ name: 'tokensmith-encoder-kv', encoders: { kv: new KeyValueEncoder() } });
