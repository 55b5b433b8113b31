import { TokenUnknownError } from './errors.js';
import { holdsRecords, type Store, type TokenRecord } from './ports.js';

/**
 * A store key from its parts, joined with `:`. Joined rather than written with `+` or a template:
 * V8 keeps a concatenation of 13 characters or more as a "cons" string pointing at its parts,
 * and a store that holds the key keeps those parts alive with it; a join is one flat string.
 *
 * @example storeKey('electa', 'token', digest) // 'electa:token:<digest>'
 */
export function storeKey(...parts: string[]): string {
  return parts.join(':');
}

const json = (value: string | undefined): string => (value === undefined ? 'null' : JSON.stringify(value));

/**
 * A stored opaque token's record as text: a JSON array in a fixed order —
 * `[tokenId, issuedAt, expiresAt, scopes, credentialId, subject, boundAddress, claims]` — written
 * field by field. It is smaller than the record as a JSON object and cheaper to write, and it is
 * what every store holds for every live session (the policy id is in the key).
 *
 * @example encodeRecord(record) // '["3f0c…",1795602607000,1795603807000,[],"123456",null,null,null]'
 */
export function encodeRecord(record: TokenRecord): string {
  return (
    `[${JSON.stringify(record.tokenId)},${record.issuedAt},${record.expiresAt},` +
    `${record.scopes.length ? JSON.stringify(record.scopes) : '[]'},${json(record.credentialId)},${json(record.subject)},` +
    `${json(record.boundAddress)},${record.claims === undefined ? 'null' : JSON.stringify(record.claims)}]`
  );
}

const unreadable = (policyId: string, cause?: unknown): TokenUnknownError =>
  new TokenUnknownError('unknown or expired token (its stored record is not readable)', { policyId, ...(cause === undefined ? {} : { cause }) });

/**
 * A token record as the engine builds it: the fields every record has, set by the constructor;
 * the caller then sets each optional one it has. A class rather than an object literal because V8
 * leaves a class's objects room for fields set after the constructor, where a literal's object
 * puts them in a second allocation (a property array), one more object for every session a
 * store holds.
 *
 * @example
 * const record = new HeldRecord(tokenId, 'electa', [], issuedAt, expiresAt);
 * record.credentialId = '123456';
 */
export class HeldRecord implements TokenRecord {
  readonly tokenId: string;
  readonly policyId: string;
  readonly scopes: readonly string[];
  readonly issuedAt: number;
  readonly expiresAt: number;
  declare subject?: string;
  declare credentialId?: string;
  declare boundAddress?: string;
  declare claims?: Readonly<Record<string, unknown>>;

  constructor(tokenId: string, policyId: string, scopes: readonly string[], issuedAt: number, expiresAt: number) {
    this.tokenId = tokenId;
    this.policyId = policyId;
    this.scopes = scopes;
    this.issuedAt = issuedAt;
    this.expiresAt = expiresAt;
  }
}

type Row = [string, number, number, string[], string | null, string | null, string | null, Record<string, unknown> | null];

/**
 * The record `encodeRecord` wrote, for `policyId`. A value of another shape (written by another
 * version, or damaged) is an unknown session — the caller asks for a new one — never a guess.
 */
export function decodeRecord(text: string, policyId: string): TokenRecord {
  let row: Row;
  try {
    row = JSON.parse(text) as Row;
  } catch (err) {
    throw unreadable(policyId, err);
  }
  if (!Array.isArray(row) || row.length !== 8 || typeof row[0] !== 'string' || typeof row[1] !== 'number' || typeof row[2] !== 'number') {
    throw unreadable(policyId);
  }
  const [tokenId, issuedAt, expiresAt, scopes, credentialId, subject, boundAddress, claims] = row;
  const record = new HeldRecord(tokenId, policyId, scopes, issuedAt, expiresAt);
  if (credentialId !== null) record.credentialId = credentialId;
  if (subject !== null) record.subject = subject;
  if (boundAddress !== null) record.boundAddress = boundAddress;
  if (claims !== null) record.claims = claims;
  return record;
}

/** Where the engine keeps opaque tokens' records: as objects in an in-process store, else as text. */
export interface RecordTable {
  /** Done at once (no promise) by a store in this process. */
  put(key: string, record: TokenRecord, ttlMs: number): void | Promise<void>;
  /** The record at `key` (for `policyId`), `undefined` when absent or expired; at once (no promise) from a store in this process. */
  get(key: string, policyId: string): TokenRecord | undefined | Promise<TokenRecord | undefined>;
  /** Deletes the record in one atomic step with reading it: `true` for the one call that did (single use). */
  consume(key: string): Promise<boolean>;
}

/** Freezes a value and everything it holds. */
function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const inner of Object.values(value)) deepFreeze(inner);
}

/** Freezes a record before an in-process store keeps it: every caller gets the stored object itself. */
function freeze(record: TokenRecord): TokenRecord {
  Object.freeze(record);
  Object.freeze(record.scopes);
  if (record.claims !== undefined) deepFreeze(record.claims);
  return record;
}

/** The record table over `store`: chosen once, so the request path does not ask again. */
export function recordTable(store: Store): RecordTable {
  if (holdsRecords(store)) {
    return {
      put: (key, record, ttlMs) => store.putRecord(key, freeze(record), ttlMs),
      get: (key) => store.getRecord(key),
      consume: async (key) => (await store.consumeRecord(key)) !== undefined,
    };
  }
  const decoded = (text: string | undefined, policyId: string) => (text === undefined ? undefined : decodeRecord(text, policyId));
  return {
    put: (key, record, ttlMs) => store.put(key, encodeRecord(record), ttlMs),
    get: async (key, policyId) => decoded(await store.get(key), policyId),
    consume: async (key) => (await store.consume(key)) !== undefined,
  };
}
