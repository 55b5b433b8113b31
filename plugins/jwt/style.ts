import { decodeProtectedHeader, importJWK, jwtVerify, type JWTPayload } from 'jose';
import { webcrypto } from 'node:crypto';
import { parseDuration } from '../../core/duration.js';
import {
  InternalError, RequestInvalidError, ScopeNotAllowedError, TokenAlgorithmError, TokenKeyUnknownError, TokenMalformedError, TokenSignatureError,
} from '../../core/errors.js';
import type { IssueRoute, Policy } from '../../core/policy/types.js';
import { clientCredentials, expiresInMs, fromJoseError, jwtRecord } from '../../core/jwt.js';
import type {
  Clock, Grant, GrantRequest, InfoRoute, InfoRoutes, KeyPublisher, MintedToken, PublishedKeys, SelfContainedStyle, TokenRecord,
  TokenRequest, TokenStyle,
} from '../../core/ports.js';
import { describeKey, signer, type PublicJwk } from './keys.js';
import { isSecretAlgorithm, type JwtAlgorithm, type JwtSettings } from './schema.js';

type CryptoKey = webcrypto.CryptoKey;

/**
 * Header members that name a key by reference or carry one (RFC 7515 §4.1.2–4.1.6). A verifier
 * that followed them would let the token choose the key that checks it; this style never does,
 * and refuses a token that carries one rather than ignore what its maker meant.
 */
const KEY_SOURCE_HEADERS = ['jku', 'jwk', 'x5u', 'x5c'] as const;
const DEFAULT_MAX_AGE_S = 300;

/** A signature as base64url writes it: another spelling of the same bytes would be another token string for one signature. */
const isCanonical = (signature: string): boolean => /^[A-Za-z0-9_-]+$/.test(signature) && Buffer.from(signature, 'base64url').toString('base64url') === signature;

/** A key that verifies: the one algorithm it may be used with, imported once. */
interface VerifyKey {
  readonly alg: JwtAlgorithm;
  readonly key: CryptoKey;
}

/** A key that may sign, from the instant `from` (ms epoch; 0 = always) unless retired. */
interface SignKey {
  readonly kid: string;
  readonly from: number;
  readonly header: string;
  readonly sign: (input: string) => string;
}

/** Everything read from the key list once, when the policy compiles. */
interface KeyRing {
  readonly verify: ReadonlyMap<string, VerifyKey>;
  /** In the policy's order; the first whose `from` has passed signs. The last one always can (the policy check makes sure one exists). */
  readonly sign: readonly SignKey[];
  readonly published: readonly PublicJwk[];
}

async function readKeys(settings: JwtSettings): Promise<KeyRing> {
  const verify = new Map<string, VerifyKey>();
  const sign: SignKey[] = [];
  const published: PublicJwk[] = [];
  for (const key of settings.keys) {
    const { read } = describeKey(key);
    // The policy check has refused every key that does not read; a policy made without it fails here, naming the key only.
    if (read === undefined) throw new InternalError(`policy key "${key.kid}" cannot be read`);
    const cryptoKey = isSecretAlgorithm(key.alg)
      ? ((await webcrypto.subtle.importKey('raw', read.verifying.export(), { name: 'HMAC', hash: `SHA-${key.alg.slice(2)}` }, false, ['verify'])) as CryptoKey)
      : ((await importJWK(read.jwk as Record<string, string>, key.alg)) as CryptoKey);
    verify.set(key.kid, { alg: key.alg, key: cryptoKey });
    if (read.jwk !== undefined && settings.jwks !== undefined) published.push(read.jwk);
    if (key.verifyOnly !== true && read.signing !== undefined) {
      sign.push({
        kid: key.kid,
        from: key.notBefore === undefined ? 0 : Date.parse(key.notBefore),
        header: Buffer.from(JSON.stringify({ alg: key.alg, typ: 'JWT', kid: key.kid })).toString('base64url'),
        sign: signer(key.alg, read.signing),
      });
    }
  }
  const always = sign.findIndex((key) => key.from === 0);
  if (always === -1) throw new InternalError('no policy key can sign at all times');
  return { verify, sign: always === -1 ? sign : sign.slice(0, always + 1), published };
}

/**
 * One policy's `jwt` instance: JWTs signed with the first active key of the policy's list, with
 * `iss`, `sub`, `aud`, `iat`, `nbf`, `exp`, `jti`, `scope` and the policy's fixed claims, and
 * `kid` in the header; verified with the key the `kid` names and only that key's algorithm.
 */
class JwtInstance implements SelfContainedStyle, InfoRoutes, KeyPublisher {
  readonly #policy: Policy;
  readonly #settings: JwtSettings;
  readonly #clock: Clock;
  readonly #keys: KeyRing;
  readonly #audience: string | readonly string[] | undefined;
  readonly #required: string[];
  readonly #toleranceS: number;
  readonly #maxLifetimeS: number;
  readonly publishedKeys: PublishedKeys | undefined;
  /** Whether a caller may ask for scopes: only when every credential lists those it may have. */
  readonly #scopesOnRequest: boolean;

  constructor(policy: Policy, clock: Clock, keys: KeyRing) {
    this.#policy = policy;
    this.#settings = policy.settings as unknown as JwtSettings;
    this.#clock = clock;
    this.#keys = keys;
    const audience = this.#settings.audience;
    this.#audience = Array.isArray(audience) && audience.length === 1 ? (audience[0] as string) : audience;
    this.#required = ['sub', 'exp', 'iat', 'jti', ...(audience === undefined ? [] : ['aud'])];
    this.#toleranceS = Math.floor((parseDuration(this.#settings.clockTolerance ?? '15s') ?? 15_000) / 1000);
    this.#maxLifetimeS = Math.ceil(policy.ttl.maxMs / 1000);
    this.#scopesOnRequest = policy.credentials !== undefined && policy.credentials.every((c) => c.scopes !== undefined);
    const jwks = this.#settings.jwks;
    this.publishedKeys =
      jwks === undefined
        ? undefined
        : { keys: keys.published, maxAgeS: Math.floor((parseDuration(jwks.maxAge ?? '') ?? DEFAULT_MAX_AGE_S * 1000) / 1000) };
  }

  readGrant(request: TokenRequest): GrantRequest {
    const grant = clientCredentials(request);
    const scope = request.param('scope');
    if (scope !== undefined) {
      // Without a scopes list on every credential, the scopes guard would grant whatever is asked.
      if (!this.#scopesOnRequest) {
        throw new ScopeNotAllowedError('this policy grants no scopes on request: list "scopes" on each of its credentials', { policyId: this.#policy.id, claim: 'scope' });
      }
      if (!/^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/.test(scope)) {
        throw new RequestInvalidError('parameter scope must be scope names separated by single spaces (RFC 6749 §3.3)', { policyId: this.#policy.id, claim: 'scope' });
      }
      grant.scopes = scope.split(' ');
    }
    const ttlMs = expiresInMs(request.param('expires_in'), this.#policy.id);
    if (ttlMs !== undefined) grant.ttlMs = ttlMs;
    return grant;
  }

  presentedToken(request: TokenRequest): string | undefined {
    return request.bearer ?? request.param('token');
  }

  async mint(grant: Grant): Promise<MintedToken> {
    const now = this.#clock.now();
    const key = this.#keys.sign.find((k) => k.from <= now) as SignKey;
    const subject = grant.subject ?? this.#settings.subject ?? grant.credentialId;
    const iat = Math.floor(grant.issuedAt / 1000);
    const payload: JWTPayload = {
      ...this.#settings.claims,
      iss: this.#settings.issuer,
      ...(subject === undefined ? {} : { sub: subject }),
      ...(this.#audience === undefined ? {} : { aud: this.#audience as string | string[] }),
      iat,
      nbf: iat,
      exp: Math.floor(grant.expiresAt / 1000),
      jti: grant.tokenId,
      ...(grant.scopes.length ? { scope: grant.scopes.join(' ') } : {}),
      ...(grant.boundAddress === undefined ? {} : { cip: grant.boundAddress }),
      // The credential the token was issued to, so that verify gives back the record issue made.
      ...(grant.credentialId === undefined ? {} : { cid: grant.credentialId }),
    };
    const input = `${key.header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    return { token: `${input}.${key.sign(input)}`, claims: payload, ...(subject === undefined ? {} : { subject }) };
  }

  async open(token: string): Promise<TokenRecord> {
    const policyId = this.#policy.id;
    const parts = token.split('.');
    let header: Record<string, unknown>;
    try {
      if (parts.length !== 3) throw new Error('not three parts');
      header = decodeProtectedHeader(token) as Record<string, unknown>;
    } catch (err) {
      throw new TokenMalformedError('the token is not a well-formed JWT', { policyId, cause: err });
    }
    const source = KEY_SOURCE_HEADERS.find((name) => Object.hasOwn(header, name));
    if (source !== undefined) {
      throw new TokenKeyUnknownError(`the token names its key with "${source}"; only a "kid" from the policy's key list is accepted`, { policyId, claim: source, reason: 'header' });
    }
    const kid = header['kid'];
    if (typeof kid !== 'string') throw new TokenKeyUnknownError('the token names no key id', { policyId, claim: 'kid' });
    const entry = this.#keys.verify.get(kid);
    if (entry === undefined) throw new TokenKeyUnknownError(`unknown key id "${kid.slice(0, 64)}"`, { policyId, claim: 'kid' });
    // The key decides the algorithm, never the token: `alg: none`, or HS256 made with a public key, names another.
    if (header['alg'] !== entry.alg) {
      const alg = typeof header['alg'] === 'string' ? header['alg'].slice(0, 16) : `(${typeof header['alg']})`;
      throw new TokenAlgorithmError(`algorithm ${alg} is not allowed for key "${kid}"; it uses ${entry.alg}`, { policyId, claim: 'alg' });
    }
    if (!isCanonical(parts[2] as string)) throw new TokenSignatureError('the signature is not canonical base64url', { policyId, reason: 'encoding' });
    try {
      const { payload } = await jwtVerify(token, entry.key, {
        algorithms: [entry.alg],
        issuer: this.#settings.issuer,
        ...(this.#audience === undefined ? {} : { audience: this.#audience as string | string[] }),
        requiredClaims: this.#required,
        clockTolerance: this.#toleranceS,
        currentDate: new Date(this.#clock.now()),
        maxTokenAge: this.#maxLifetimeS,
      });
      return jwtRecord(payload, this.#policy.id, this.#maxLifetimeS);
    } catch (err) {
      throw fromJoseError(err, policyId);
    }
  }

  /** The JWKS route (and the discovery document) the policy names; fixed for this policy set, so a reload serves the new keys. */
  infoRoutes(_routes: readonly IssueRoute[]): readonly InfoRoute[] {
    const jwks = this.#settings.jwks;
    const published = this.publishedKeys;
    if (jwks === undefined || published === undefined) return [];
    const headers = { 'cache-control': `public, max-age=${published.maxAgeS}` };
    const json = (body: unknown) => ({ status: 200, contentType: 'application/json; charset=utf-8', body: JSON.stringify(body), headers });
    const routes: InfoRoute[] = [{ path: jwks.path, methods: ['GET'], reply: json({ keys: published.keys }) }];
    if (jwks.discovery === true) {
      const issuer = new URL(this.#settings.issuer);
      const base = issuer.pathname.replace(/\/+$/, '');
      routes.push({
        path: `${base}/.well-known/openid-configuration`,
        methods: ['GET'],
        reply: json({ issuer: this.#settings.issuer, jwks_uri: new URL(jwks.path, issuer.origin).href, id_token_signing_alg_values_supported: [...new Set(published.keys.map((k) => k['alg']))] }),
      });
    }
    return routes;
  }
}

/**
 * The `jwt` token style: public-key (RS256, PS256, ES256, ES384, EdDSA) or HS* JWTs, with key
 * rotation and a published JWKS. Keys are read and imported once per policy load.
 *
 * @example
 * ```ts
 * const instance = await new JwtStyle().create(policy, { clock, random });
 * const { token } = await instance.mint(grant);
 * ```
 */
export class JwtStyle implements TokenStyle {
  async create(policy: Policy, deps: { clock: Clock }): Promise<SelfContainedStyle> {
    return new JwtInstance(policy, deps.clock, await readKeys(policy.settings as unknown as JwtSettings));
  }
}
