// An outside reply encoder: format `kv` renders replies as `key=value` lines, for any style
// (a policy allows it with `output: { allowed: [json, kv] }`). Errors show what `describeError`
// lets a client see (the message only when the error allows it); the headers an error asks for
// (`Retry-After` on a lockout) are sent by the host, whatever the encoder.
import { definePlugin, describeError } from 'tokensmith';

/** One line per field; values never hold a line break (a token or code never does; messages are cut at one). */
const lines = (fields) => `${Object.entries(fields).map(([key, value]) => `${key}=${String(value).split(/[\r\n]/)[0]}`).join('\n')}\n`;

class KeyValueEncoder {
  encode(outcome) {
    if (outcome.ok) {
      const expiresIn = Math.max(0, Math.round((outcome.record.expiresAt - outcome.record.issuedAt) / 1000));
      return { status: 200, contentType: 'text/plain; charset=utf-8', body: lines({ token: outcome.token, expires_in: expiresIn }) };
    }
    return { status: outcome.error.status, contentType: 'text/plain; charset=utf-8', body: lines(describeError(outcome.error)) };
  }
}

export default definePlugin({ name: 'tokensmith-encoder-kv', encoders: { kv: new KeyValueEncoder() } });
