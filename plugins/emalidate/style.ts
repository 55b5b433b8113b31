import { decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTHeaderParameters } from 'jose';
import { createHmac, createSecretKey, webcrypto, type KeyObject } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
import { parseDuration } from '../../core/duration.js';
import { TokenAlgorithmError, TokenKeyUnknownError, TokenMalformedError, TokenSignatureError } from '../../core/errors.js';
import type { Policy } from '../../core/policy/types.js';
import { clientCredentials, expiresInMs, fromJoseError, jwtRecord } from '../../core/jwt.js';
import type {
  Clock, Grant, GrantRequest, MintedToken, SelfContainedStyle, TokenRecord, TokenRequest, TokenStyle,
} from '../../core/ports.js';
import type { EmalidateSettings, HmacAlgorithm } from './schema.js';

const HASH: Readonly<Record<HmacAlgorithm, string>> = { HS256: 'SHA-256', HS384: 'SHA-384', HS512: 'SHA-512' };
const NODE_HASH: Readonly<Record<HmacAlgorithm, string>> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };
const REQUIRED_CLAIMS = ['sub', 'exp', 'iat', 'jti'];
/**
 * A signature as base64url writes it: no padding, no white space, no other alphabet. Decoders
 * (jose's included) also take `sig=`, or a last character whose unused low bits differ, as the
 * same bytes; such a token is another string for the same signature, so it is refused (as a
 * signature we did not make) rather than let anything keyed by the token's text see a new token.
 */
const isCanonicalSignature = (signature: string): boolean =>
  /^[A-Za-z0-9_-]+$/.test(signature) && Buffer.from(signature, 'base64url').toString('base64url') === signature;

/** One verification key: a `CryptoKey` per allowed algorithm, imported once at load time. */
type KeyRing = ReadonlyMap<string, ReadonlyMap<string, CryptoKey>>;

async function importKeys(settings: EmalidateSettings, algorithms: readonly HmacAlgorithm[]): Promise<KeyRing> {
  const ring = new Map<string, Map<string, CryptoKey>>();
  for (const { kid, secret } of settings.keys) {
    const byAlg = new Map<string, CryptoKey>();
    for (const alg of algorithms) {
      // A CryptoKey imported once: jose would otherwise import raw bytes on every call.
      const key = await webcrypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: HASH[alg] }, false, [
        'sign',
        'verify',
      ]);
      byAlg.set(alg, key as CryptoKey);
    }
    ring.set(kid, byAlg);
  }
  return ring;
}

/**
 * One policy's emalidate instance: HS256 (by default) JWTs with `iss`, `sub`, `iat`, `exp`,
 * `jti` and `kid` (in the header and, as the vendor's samples do, in the payload).
 */
class EmalidateInstance implements SelfContainedStyle {
  readonly #policy: Policy;
  readonly #settings: EmalidateSettings;
  readonly #clock: Clock;
  readonly #algorithms: readonly HmacAlgorithm[];
  readonly #toleranceS: number;
  /** The policy's `ttl.max` in whole seconds: no token we accept may live longer from its `iat`. */
  readonly #maxLifetimeS: number;
  readonly #keys: KeyRing;
  readonly #signing: { kid: string; hash: string; key: KeyObject; header: string };

  constructor(policy: Policy, clock: Clock, keys: KeyRing) {
    this.#policy = policy;
    this.#settings = policy.settings as unknown as EmalidateSettings;
    this.#clock = clock;
    this.#algorithms = this.#settings.algorithms ?? ['HS256'];
    this.#toleranceS = Math.floor((parseDuration(this.#settings.clockTolerance ?? '15s') ?? 15_000) / 1000);
    this.#maxLifetimeS = Math.ceil(policy.ttl.maxMs / 1000);
    this.#keys = keys;
    const first = this.#settings.keys[0] as { kid: string; secret: string };
    const alg = this.#algorithms[0] as HmacAlgorithm;
    // Signing uses node:crypto's synchronous HMAC with a KeyObject made once and a header
    // encoded once, because WebCrypto's asynchronous sign (what jose uses) is much dearer per
    // token. Verification stays with jose (algorithm allow-list, claim checks).
    this.#signing = {
      kid: first.kid,
      hash: NODE_HASH[alg],
      key: createSecretKey(Buffer.from(first.secret, 'utf8')),
      header: Buffer.from(JSON.stringify({ alg, typ: 'JWT', kid: first.kid })).toString('base64url'),
    };
  }

  readGrant(request: TokenRequest): GrantRequest {
    const grant = clientCredentials(request);
    const ttlMs = expiresInMs(request.param('expires_in'), this.#policy.id);
    if (ttlMs !== undefined) grant.ttlMs = ttlMs;
    return grant;
  }

  presentedToken(request: TokenRequest): string | undefined {
    return request.bearer ?? request.param('token');
  }

  async mint(grant: Grant): Promise<MintedToken> {
    const { kid, hash, key, header } = this.#signing;
    // Every token has a sub (verify requires it): the credential's subject, the policy's, or the credential id.
    // The policy check refuses a policy where none of them exists.
    const subject = grant.subject ?? this.#settings.subject ?? grant.credentialId;
    const payload: JWTPayload = {
      iss: this.#settings.issuer,
      ...(subject === undefined ? {} : { sub: subject }),
      iat: Math.floor(grant.issuedAt / 1000),
      exp: Math.floor(grant.expiresAt / 1000),
      jti: grant.tokenId,
      kid,
      ...(grant.boundAddress === undefined ? {} : { cip: grant.boundAddress }),
      // The credential the token was issued to, so that verify gives back the record issue made (the kit's round trip).
      ...(grant.credentialId === undefined ? {} : { cid: grant.credentialId }),
      ...(grant.scopes.length ? { scope: grant.scopes.join(' ') } : {}),
    };
    const input = `${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    const token = `${input}.${createHmac(hash, key).update(input).digest('base64url')}`;
    return { token, claims: payload, ...(subject === undefined ? {} : { subject }) };
  }

  async open(token: string): Promise<TokenRecord> {
    const policyId = this.#policy.id;
    let header: JWTHeaderParameters;
    try {
      header = decodeProtectedHeader(token) as JWTHeaderParameters;
    } catch (err) {
      throw new TokenMalformedError('the token is not a well-formed JWT', { policyId, cause: err });
    }
    const parts = token.split('.');
    if (parts.length !== 3) throw new TokenMalformedError('the token is not a well-formed JWT', { policyId });
    // Header fields are whatever JSON the caller wrote: each is checked for its type before use.
    const alg = typeof header.alg === 'string' ? header.alg : `(${header.alg === null ? 'null' : typeof header.alg})`;
    if (!(this.#algorithms as readonly string[]).includes(alg)) {
      throw new TokenAlgorithmError(`algorithm ${alg.slice(0, 16)} is not allowed; allowed: ${this.#algorithms.join(', ')}`, { policyId, claim: 'alg' });
    }
    const key = this.#keyFor(token, header, alg);
    if (!isCanonicalSignature(parts[2] as string)) {
      throw new TokenSignatureError('the signature is not canonical base64url', { policyId, reason: 'encoding' });
    }
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: this.#algorithms as string[],
        issuer: this.#settings.issuer,
        requiredClaims: REQUIRED_CLAIMS,
        clockTolerance: this.#toleranceS,
        currentDate: new Date(this.#clock.now()),
        // jose then refuses an `iat` more than the clock tolerance in the future, and a token
        // older than the longest lifetime the policy grants, whatever its `exp` says.
        maxTokenAge: this.#maxLifetimeS,
      });
      return jwtRecord(payload, this.#policy.id, this.#maxLifetimeS);
    } catch (err) {
      throw fromJoseError(err, policyId);
    }
  }

  /**
   * The key by header `kid`, else payload `kid` (the vendor's samples), else the only key. A
   * `kid` that is there but not text (a number, an object, `null`, `true`) names no key.
   */
  #keyFor(token: string, header: JWTHeaderParameters, alg: string): CryptoKey {
    const policyId = this.#policy.id;
    let claimed: unknown = header.kid;
    if (!Object.hasOwn(header, 'kid')) {
      try {
        claimed = decodeJwt(token).kid;
      } catch (err) {
        throw new TokenMalformedError('the token is not a well-formed JWT', { policyId, cause: err });
      }
    }
    if (claimed !== undefined && typeof claimed !== 'string') {
      throw new TokenKeyUnknownError('the token\'s key id is not text', { policyId, claim: 'kid', reason: 'type' });
    }
    let kid = claimed;
    if (kid === undefined && this.#keys.size === 1) kid = this.#keys.keys().next().value as string;
    const key = kid === undefined ? undefined : this.#keys.get(kid)?.get(alg);
    if (key === undefined) {
      throw new TokenKeyUnknownError(kid === undefined ? 'the token names no key id' : `unknown key id "${kid.slice(0, 64)}"`, { policyId, claim: 'kid' });
    }
    return key;
  }
}

/**
 * The emalidate token style (HS256 JWT). Keys are imported once per policy load.
 *
 * @example
 * ```ts
 * const instance = await new EmalidateStyle().create(policy, { clock, random });
 * const { token } = await instance.mint(grant);
 * ```
 */
export class EmalidateStyle implements TokenStyle {
  async create(policy: Policy, deps: { clock: Clock }): Promise<SelfContainedStyle> {
    const settings = policy.settings as unknown as EmalidateSettings;
    const keys = await importKeys(settings, settings.algorithms ?? ['HS256']);
    return new EmalidateInstance(policy, deps.clock, keys);
  }
}
