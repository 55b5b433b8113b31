import type { Context } from 'koa';
import { RequestInvalidError } from '../core/errors.js';
import type { TokenRequest } from '../core/ports.js';

type Bag = Record<string, unknown>;

function add(into: Map<string, string>, source: Bag | undefined, fold: boolean): void {
  if (source === undefined || source === null || typeof source !== 'object') return;
  for (const [rawName, value] of Object.entries(source)) {
    const name = fold ? rawName.toLowerCase() : rawName;
    if (typeof value !== 'string') {
      throw new RequestInvalidError(`parameter ${rawName.slice(0, 64)} must be given once, as text`, { claim: rawName.slice(0, 64) });
    }
    if (into.has(name)) {
      throw new RequestInvalidError(`parameter ${rawName.slice(0, 64)} is given more than once`, { claim: rawName.slice(0, 64) });
    }
    into.set(name, value);
  }
}

/**
 * The neutral request of a Koa context: query and (parsed) body merged — a name given twice,
 * or as a list or object, is refused rather than guessed — and names folded to lower case when
 * the policy matches them case-insensitively.
 */
export function tokenRequestOf(ctx: Context, caseInsensitive: boolean, address: string, options: { body?: boolean } = {}): TokenRequest {
  const values = new Map<string, string>();
  add(values, ctx.query as Bag, caseInsensitive);
  if (options.body !== false) add(values, (ctx.request as { body?: Bag }).body, caseInsensitive);
  const authorization = ctx.get('authorization');
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
  return {
    param: caseInsensitive ? (name) => values.get(name.toLowerCase()) : (name) => values.get(name),
    clientAddress: address,
    ...(bearer === undefined ? {} : { bearer }),
  };
}
