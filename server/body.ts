import { bodyParser } from '@koa/bodyparser';
import type { Context, Middleware, Next } from 'koa';
import { BodyInvalidError, BodyTooLargeError } from '../core/errors.js';

/**
 * The request-body parser (form and JSON up to `limit`), whose every failure is the caller's:
 * more than the limit is `ERR_BODY_TOO_LARGE`; anything else it cannot read — bad JSON, an
 * unknown charset, a body shorter than its `Content-Length` — is `ERR_BODY_INVALID`.
 *
 * A compressed body (`Content-Encoding` other than `identity`) is refused before it is read, as
 * `ERR_BODY_INVALID`: no vendor client compresses a token request, and the decompressors behind
 * the parser failed as 500s with a stack in the log (zlib's errors carry no status) and, for a
 * Brotli body cut short by the size limit, with an exception no one caught — the process died.
 *
 * @example const parseBody = bodyReader('16kb'); await parseBody(ctx, async () => {});
 */
export function bodyReader(limit: string): Middleware {
  const parse = bodyParser({ enableTypes: ['json', 'form'], jsonLimit: limit, formLimit: limit, jsonStrict: true });
  return async function readBody(ctx: Context, next: Next): Promise<void> {
    const encoding = ctx.get('content-encoding').trim().toLowerCase();
    if (encoding !== '' && encoding !== 'identity') throw new BodyInvalidError('compressed request bodies are not accepted (Content-Encoding)');
    try {
      await parse(ctx, async () => {});
    } catch (err) {
      const status = (err as { status?: unknown }).status;
      if (status === 413) throw new BodyTooLargeError('request body too large', { cause: err });
      throw new BodyInvalidError('request body could not be read', { cause: err });
    }
    await next();
  };
}
