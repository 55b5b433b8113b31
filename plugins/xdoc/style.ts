import { timingSafeEqual } from 'node:crypto';
import { sha256, sha256Bytes } from '../../core/digest.js';
import { parseDuration } from '../../core/duration.js';
import {
  RequestInvalidError, TokenClaimError, TokenContextMismatchError, TokenExpiredError, TokenUndecryptableError,
} from '../../core/errors.js';
import { normalizeAddress } from '../../core/address.js';
import type { Policy } from '../../core/policy/types.js';
import type {
  Clock, Grant, GrantRequest, MintedToken, Random, SelfContainedStyle, TokenRecord, TokenRequest, TokenStyle, VerifyExpectations,
} from '../../core/ports.js';
import { isBase64 } from './bytes.js';
import { KeySet } from './cipher.js';
import { formatGenDt, parseGenDt } from './gendt.js';
import { parsePlaintext, plaintextBuilder, type Field, type Fields, type PlaintextBuilder } from './plaintext.js';
import { DEFAULT_MAX_TOKEN_LENGTH, USER_FIELDS, type XdocSettings } from './schema.js';

/** Request parameters of XDOC's receiving side. */
export const PARAM = { context: 'XSC', security: 'XST', user: 'XUT' } as const;
const UNDECRYPTABLE = 'the token cannot be decrypted';
// Most control characters, U+FFFE, U+FFFF and lone surrogates cannot travel in XML 1.0 text: all
// are refused in user fields read from a request, whatever the plaintext, rather than replaced
// (a token must carry the user the caller named, or none).
const CONTROL = /[\p{Cc}\uFFFE\uFFFF]|\p{Cs}/u;
const digest = sha256Bytes;
/** XDOC plaintext has no `jti`: a token's id is the SHA-256 of its ciphertext (the same for every encoding of it). */
const tokenIdOf = (ciphertext: Buffer): string => sha256(ciphertext);

/** What `open` learnt from a token's ciphertext. */
interface Opened {
  readonly fields: Fields;
  /** SHA-256 of the ciphertext bytes: the same for the URL-encoded and the plain form. */
  readonly id: string;
}

/**
 * One policy's XDOC instance: mints XST (and XUT) as encrypted XML, JSON or form-url plaintext,
 * and opens them on the receiving side (`XSC`, `XST`, `XUT` parameters).
 */
class XdocInstance implements SelfContainedStyle {
  readonly #policy: Policy;
  readonly #settings: XdocSettings;
  readonly #clock: Clock;
  #tick: number;
  readonly #keys: readonly KeySet[];
  readonly #maxAgeMs: number;
  readonly #skewMs: number;
  readonly #maxLength: number;
  readonly #appKeys: readonly Buffer[];
  readonly #binds: boolean;
  readonly #fixedGrant: GrantRequest | undefined;
  /** Plaintext writers by root and field list; a policy mints a handful of shapes. */
  readonly #builders = new Map<string, PlaintextBuilder>();

  constructor(policy: Policy, clock: Clock, random: Random) {
    this.#policy = policy;
    this.#settings = policy.settings as unknown as XdocSettings;
    this.#clock = clock;
    this.#tick = random.bytes(2).readUInt16BE(0) % 10_000;
    this.#keys = this.#settings.keys.map((set) => new KeySet(set, random));
    this.#maxAgeMs = parseDuration(this.#settings.maxAge ?? '5m') as number;
    this.#skewMs = parseDuration(this.#settings.clockSkew ?? '30s') as number;
    this.#maxLength = this.#settings.maxTokenLength ?? DEFAULT_MAX_TOKEN_LENGTH;
    this.#appKeys = (this.#settings.appKeys ?? []).map(digest);
    this.#binds = policy.ipBinding.mode !== 'off';
    const mint = this.#settings.mint;
    // Nothing in the request changes what is minted: the grant is the same every time.
    if (!mint?.userFromRequest && mint?.client !== 'caller') {
      this.#fixedGrant = Object.freeze(this.readGrant({ param: () => undefined, clientAddress: '' }));
    }
  }

  /**
   * Minting asks nothing but, when the policy lists credentials, `client_id`/`client_secret`;
   * with `mint.userFromRequest` the user fields come from the parameters of the same names.
   */
  readGrant(request: TokenRequest): GrantRequest {
    const id = request.param('client_id');
    const secret = request.param('client_secret');
    if (this.#fixedGrant !== undefined && id === undefined && secret === undefined) return this.#fixedGrant;
    // The receiving side accepts a token until GenDT + maxAge + clockSkew: that is its lifetime.
    const grant: GrantRequest = { ttlMs: this.#maxAgeMs + this.#skewMs };
    if (id !== undefined) grant.credentialId = id;
    if (secret !== undefined) grant.secret = secret;
    const mint = this.#settings.mint;
    if (mint === undefined) return grant;
    const claims: Record<string, string> = {};
    for (const [name, value] of Object.entries(mint.user ?? {})) claims[name] = String(value);
    if (mint.userFromRequest) {
      for (const name of USER_FIELDS) {
        const value = request.param(name);
        if (value === undefined || value === '') continue;
        if (CONTROL.test(value) || (name === 'ExtFlags' && !/^[0-9]{1,9}$/.test(value))) {
          throw new RequestInvalidError(`parameter ${name} is not valid`, { policyId: this.#policy.id, claim: name });
        }
        claims[name] = value;
      }
      for (const name of ['UserName', 'Email'] as const) {
        if (claims[name] === undefined) throw new RequestInvalidError(`parameter ${name} is required`, { policyId: this.#policy.id, claim: name });
      }
    }
    if (mint.client === 'caller') claims['Client'] = normalizeAddress(request.clientAddress) ?? request.clientAddress;
    if (Object.keys(claims).length) grant.claims = claims;
    return grant;
  }

  presentedToken(request: TokenRequest): string | undefined {
    return request.param(PARAM.security);
  }

  /**
   * The receiving side must name its security context. The engine asks this before `open`
   * and only when verifying (not for introspection or revocation, which carry no `XSC`), so
   * `open` compares `Context` with `XSC` whenever one is given.
   */
  expectations(request: TokenRequest): VerifyExpectations {
    const context = request.param(PARAM.context);
    if (context === undefined || context === '') {
      throw new RequestInvalidError(`parameter ${PARAM.context} (the security context) is required`, { policyId: this.#policy.id, claim: PARAM.context });
    }
    return {};
  }

  async mint(grant: Grant): Promise<MintedToken> {
    const mint = this.#settings.mint;
    if (mint === undefined) throw new RequestInvalidError('this policy only verifies XDOC tokens (it has no mint block)', { policyId: this.#policy.id });
    const given = grant.claims ?? {};
    const client = grant.boundAddress ?? given['Client'];
    const names: Field[] = mint.appKey === undefined ? ['Context', 'AppId', 'GenDT'] : ['Context', 'AppId', 'AppKey', 'GenDT'];
    const values = mint.appKey === undefined ? [this.#settings.context, mint.appId] : [this.#settings.context, mint.appId, mint.appKey];
    values.push(this.#genDt(grant.issuedAt));
    if (client !== undefined) {
      names.push('Client');
      values.push(client);
    }
    const claims: Record<string, unknown> = { Context: this.#settings.context, AppId: mint.appId, GenDT: values[names.indexOf('GenDT')] };
    if (client !== undefined) claims['Client'] = client;
    const userNames: Field[] = [];
    const userValues: string[] = [];
    for (const name of USER_FIELDS) {
      const value = given[name];
      if (value === undefined) continue;
      userNames.push(name);
      userValues.push(value);
      claims[name] = name === 'ExtFlags' ? Number(value) : value;
    }
    const root = mint.xmlRoot ?? 'SecurityToken';
    // Which plaintext writer: the field list, named cheaply (a fixed user's fields never change).
    const users = mint.userFromRequest ? userNames.join(',') : 'fixed';
    const security = client === undefined ? 'xst' : 'xst+client';
    // The record describes the XST: its subject is the user only when the user is inside it.
    if (userNames.length && (mint.userToken ?? 'separate') === 'separate') {
      claims[PARAM.user] = this.#seal(`xut:${users}`, 'UserToken', userNames, userValues).toString('base64');
      const sealed = this.#seal(security, root, names, values);
      return { token: sealed.toString('base64'), tokenId: tokenIdOf(sealed), subject: mint.appId, claims };
    }
    const sealed = this.#seal(`${security}:${users}`, root, [...names, ...userNames], [...values, ...userValues]);
    return { token: sealed.toString('base64'), tokenId: tokenIdOf(sealed), subject: given['UserName'] ?? mint.appId, claims };
  }

  async open(token: string, request: TokenRequest): Promise<TokenRecord> {
    const policyId = this.#policy.id;
    const { fields, id } = this.#decrypt(token);
    const missing = (['Context', 'AppId', 'GenDT', ...(this.#appKeys.length ? ['AppKey' as const] : [])] as const).find((f) => !fields.get(f));
    if (missing !== undefined) throw new TokenClaimError(`claim ${missing} is missing`, { policyId, claim: missing, reason: 'missing' });
    const context = request.param(PARAM.context);
    if (context !== undefined && context !== fields.get('Context')) {
      throw new TokenContextMismatchError(`the token was made for another security context than ${PARAM.context}`, { policyId, claim: 'Context' });
    }
    if (this.#appKeys.length && !this.#knownAppKey(fields.get('AppKey') as string)) {
      throw new TokenClaimError('claim AppKey is not one of the policy\'s app keys', { policyId, claim: 'AppKey', reason: 'unknown' });
    }
    const issuedAt = parseGenDt(fields.get('GenDT') as string);
    if (issuedAt === undefined) throw new TokenClaimError('claim GenDT is not a date in a shape XDOC uses', { policyId, claim: 'GenDT', reason: 'format' });
    const now = this.#clock.now();
    if (issuedAt - now > this.#skewMs) throw new TokenClaimError('claim GenDT is in the future', { policyId, claim: 'GenDT', reason: 'future' });
    const expiresAt = issuedAt + this.#maxAgeMs + this.#skewMs;
    if (now > expiresAt) throw new TokenExpiredError('the token is older than the policy\'s maxAge', { policyId, claim: 'GenDT' });
    const xut = request.param(PARAM.user);
    const user = xut === undefined || xut === '' ? fields : this.#decrypt(xut).fields;
    const claims = this.#claims(fields, user);
    const client = fields.get('Client');
    const bound = this.#binds && client !== undefined && client !== '' ? (normalizeAddress(client) ?? client) : undefined;
    return {
      tokenId: id,
      policyId,
      subject: (claims['UserName'] ?? claims['AppId']) as string,
      scopes: [],
      issuedAt,
      expiresAt,
      ...(bound === undefined ? {} : { boundAddress: bound }),
      claims,
    };
  }

  /** The claims a record shows: the token's fields but AppKey, user fields checked. */
  #claims(security: Fields, user: Fields): Record<string, unknown> {
    const policyId = this.#policy.id;
    const claims: Record<string, unknown> = {};
    for (const name of ['Context', 'AppId', 'GenDT', 'Client'] as const) if (security.has(name)) claims[name] = security.get(name);
    const present = USER_FIELDS.filter((f) => user.has(f));
    if (present.length === 0 && this.#settings.requireUser) {
      throw new TokenClaimError('a User Token is required (XUT, or user fields in the XST)', { policyId, claim: 'UserName', reason: 'missing' });
    }
    if (present.length) {
      const missing = (['UserName', 'Email'] as const).find((f) => !user.get(f));
      if (missing !== undefined) throw new TokenClaimError(`claim ${missing} is missing from the User Token`, { policyId, claim: missing, reason: 'missing' });
    }
    for (const name of present) claims[name] = user.get(name);
    if (claims['ExtFlags'] !== undefined) {
      if (!/^-?[0-9]{1,10}$/.test(claims['ExtFlags'] as string)) throw new TokenClaimError('claim ExtFlags is not an integer', { policyId, claim: 'ExtFlags', reason: 'format' });
      claims['ExtFlags'] = Number(claims['ExtFlags']);
    }
    return claims;
  }

  /**
   * GenDT for a minted token. CBC with XDOC's fixed Init Vector gives the same ciphertext for
   * the same plaintext, so two XSTs minted in one second would be one token to revocation and
   * single use; sub-millisecond ticks (.NET's 100 ns units) from a counter that starts at a
   * random point keep them apart: distinct for up to 10 000 tokens a millisecond in a process,
   * and unlikely to meet another host's.
   */
  #genDt(issuedAt: number): string {
    if (this.#settings.mint?.genDt === 'seconds') return formatGenDt(issuedAt);
    this.#tick = (this.#tick + 1) % 10_000;
    return formatGenDt(issuedAt, this.#tick);
  }

  /** Constant time over every listed key: no early exit that would tell how many matched. */
  #knownAppKey(appKey: string): boolean {
    const given = digest(appKey);
    let found = false;
    for (const key of this.#appKeys) found = timingSafeEqual(given, key) || found;
    return found;
  }

  /** Encrypts one token with the first key set: plaintext by a builder made once per `shape` (its field list). */
  #seal(shape: string, root: string, names: readonly string[], values: readonly string[]): Buffer {
    let build = this.#builders.get(shape);
    if (build === undefined) {
      build = plaintextBuilder(this.#settings.mint?.plaintext ?? 'xml', root, names);
      this.#builders.set(shape, build);
    }
    const set = this.#keys[0] as KeySet;
    let text = build(values);
    // Padding None: fill to a whole block with spaces, which XML and JSON ignore after the document.
    if (set.needsAlignedInput) text += ' '.repeat((16 - (Buffer.byteLength(text) % 16)) % 16);
    return set.encrypt(Buffer.from(text, 'utf8'));
  }

  /**
   * Base64 (plain, URL-encoded, or with `+` turned into a space by a form decoder) → bytes →
   * every key set in turn → plaintext. Every way to fail throws the same error with the same
   * message; every key set is tried even after one has failed on its padding.
   */
  #decrypt(token: string): Opened {
    const policyId = this.#policy.id;
    const fail = () => new TokenUndecryptableError(UNDECRYPTABLE, { policyId });
    if (token.length > this.#maxLength) throw fail();
    let text = token;
    if (text.includes('%')) {
      try {
        text = decodeURIComponent(text);
      } catch {
        throw fail();
      }
    }
    if (text.includes(' ')) text = text.replaceAll(' ', '+');
    if (!isBase64(text)) throw fail();
    const bytes = Buffer.from(text, 'base64');
    const opened = this.#keys.length === 1 ? [(this.#keys[0] as KeySet).unseal(bytes)] : this.#keys.map((set) => set.unseal(bytes));
    for (const one of opened) {
      // Parsed even when its padding was wrong, then thrown away: the time taken does not tell.
      const fields = one === undefined ? undefined : parsePlaintext(one.plain);
      if (one?.intact && fields !== undefined) return { fields, id: tokenIdOf(bytes) };
    }
    throw fail();
  }
}

/**
 * The XDOC style (XST / XUT): AES-encrypted self-contained tokens. Keys are imported (or
 * derived) once per policy load.
 *
 * @example
 * ```ts
 * const instance = await new XdocStyle().create(policy, { clock, random });
 * const record = await instance.open(xst, tokenRequestFrom({ XSC: 'MySecurityContext' }, ip));
 * ```
 */
export class XdocStyle implements TokenStyle {
  async create(policy: Policy, deps: { clock: Clock; random: Random }): Promise<SelfContainedStyle> {
    return new XdocInstance(policy, deps.clock, deps.random);
  }
}
