import type { Context } from 'koa';
import { RequestInvalidError } from '../core/errors.js';
import type { TokenRequest } from '../core/ports.js';

type Bag = Record<string, unknown>;

function add(into: Map<string, string>, source: Bag | undefined, fold: boolean): void {
  if (source === undefined || source === null || typeof source !== 'object') return;
  for (const [rawName, value] of Object.entries(source)) {
    // A pair without a name (`?=&L=…`, or `?&&L=…` read by some parsers as `=`) carries nothing: skip it, as IIS and ASP do.
    if (rawName === '') continue;
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
export interface RequestShape {
  /** Read the body too (default true). */
  body?: boolean;
  /** A reply format the route imposes. */
  format?: string;
  /** Server-side values that override the caller's (a same-origin helper's licence). */
  preset?: Readonly<Record<string, string>>;
  /** Set this parameter to the caller's address (bind the token to the browser). */
  bindCallerAs?: string;
}

/**
 * Reads the query string straight into `into`; `false` when a name comes twice (as given or once
 * folded), and nothing can be said about what `into` holds then. Koa's `ctx.query` builds an
 * object property by property and asks for every name's values again; this is the same reading
 * (both are `URLSearchParams`) without those steps, on every token request.
 */
function addQuery(into: Map<string, string>, querystring: string, fold: boolean): boolean {
  if (querystring === '') return true;
  for (const [rawName, value] of new URLSearchParams(querystring)) {
    if (rawName === '') continue;
    const name = fold ? rawName.toLowerCase() : rawName;
    if (into.has(name)) return false;
    into.set(name, value);
  }
  return true;
}

export function tokenRequestOf(ctx: Context, caseInsensitive: boolean, address: string, shape: RequestShape = {}): TokenRequest {
  const values = new Map<string, string>();
  if (!addQuery(values, ctx.querystring, caseInsensitive)) {
    // A name given twice: read it again as Koa does, for the same refusal (list or repeated name) as ever.
    values.clear();
    add(values, ctx.query as Bag, caseInsensitive);
  }
  if (shape.body !== false) add(values, (ctx.request as { body?: Bag }).body, caseInsensitive);
  const fold = (name: string) => (caseInsensitive ? name.toLowerCase() : name);
  if (shape.preset !== undefined) for (const [name, value] of Object.entries(shape.preset)) values.set(fold(name), value);
  if (shape.bindCallerAs !== undefined) values.set(fold(shape.bindCallerAs), address);
  const authorization = ctx.get('authorization');
  const bearer = authorization === '' ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
  // Set field by field: a conditional spread would build a throwaway object on every request.
  const request: { -readonly [K in keyof TokenRequest]: TokenRequest[K] } = {
    param: caseInsensitive ? (name) => values.get(name.toLowerCase()) : (name) => values.get(name),
    clientAddress: address,
  };
  if (bearer !== undefined) request.bearer = bearer;
  if (shape.format !== undefined) request.format = shape.format;
  if (shape.preset !== undefined) request.preset = true;
  return request;
}
