import { DURATION_PATTERN } from '../../core/duration.js';
import type { Policy } from '../../core/policy/types.js';
import { describeKey, type KeyProblem } from './keys.js';

/** Public-key algorithms: the private key signs, the published public key verifies. */
export const PUBLIC_KEY_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'] as const;
/** Shared-secret algorithms, for symmetry with emalidate: never published. */
export const SECRET_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export type PublicKeyAlgorithm = (typeof PUBLIC_KEY_ALGORITHMS)[number];
export type SecretAlgorithm = (typeof SECRET_ALGORITHMS)[number];
export type JwtAlgorithm = PublicKeyAlgorithm | SecretAlgorithm;

/** RFC 3339 date-time, as `notBefore` takes it (`2026-12-01T00:00:00Z`). */
const DATE_TIME_PATTERN = '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$';
/** Claims the style sets itself: `claims` may not name them. */
export const RESERVED_CLAIMS = ['iss', 'sub', 'aud', 'iat', 'nbf', 'exp', 'jti', 'scope', 'cip', 'cid'] as const;

/**
 * JSON Schema of a policy's `jwt:` block.
 *
 * @example
 * ```yaml
 * jwt:
 *   issuer: https://auth.example.com
 *   audience: api.example.com
 *   keys:
 *     - { kid: es-2026-11, alg: ES256, private: "${file:keys/es-2026-11.pem}" }
 *   jwks: { path: /jwt/jwks.json, maxAge: 10m }
 * ```
 */
export const settingsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['issuer', 'keys'],
  properties: {
    issuer: { type: 'string', minLength: 1, description: '`iss` of minted tokens, required on verify' },
    audience: {
      anyOf: [
        { type: 'string', minLength: 1 },
        { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, uniqueItems: true },
      ],
      description: '`aud` of minted tokens (a text, or a list); verify requires one of them. Absent = no `aud`',
    },
    subject: { type: 'string', minLength: 1, description: '`sub` when the credential names none; without it, the credential id' },
    clockTolerance: { type: 'string', pattern: DURATION_PATTERN, description: 'leeway for exp/nbf/iat. Default 15s' },
    claims: {
      type: 'object',
      description: 'fixed extra claims put in every token (not iss, sub, aud, iat, nbf, exp, jti, scope, cip, cid)',
      propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$' },
      additionalProperties: { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] },
    },
    keys: {
      type: 'array',
      minItems: 1,
      description: 'the first active key (not verifyOnly, notBefore passed) signs; every listed key verifies (rotation)',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['kid', 'alg'],
        properties: {
          kid: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,64}$', description: 'key id: the header `kid` and the JWKS `kid`' },
          alg: { enum: [...PUBLIC_KEY_ALGORITHMS, ...SECRET_ALGORITHMS], description: 'the only algorithm this key signs and verifies with' },
          private: {
            type: 'string',
            minLength: 1,
            description: 'the private key as PEM (PKCS#8, or PKCS#1/SEC1) or a JWK, or the HS* secret; use ${file:…} or ${env:…}',
          },
          public: {
            type: 'string',
            minLength: 1,
            description: 'a retired key\'s public part only (PEM SPKI or JWK), for a verifyOnly key whose private part is destroyed',
          },
          verifyOnly: { type: 'boolean', description: 'retired: never signs, still verifies and is still published. Default false' },
          notBefore: { type: 'string', pattern: DATE_TIME_PATTERN, description: 'signs only from this instant (RFC 3339); published before it, so caches learn it first' },
        },
      },
    },
    jwks: {
      type: 'object',
      additionalProperties: false,
      required: ['path'],
      description: 'publish the public keys (RS*, PS*, ES*, EdDSA) as a JWKS',
      properties: {
        path: { type: 'string', pattern: '^/[A-Za-z0-9._~/-]*$', description: 'the route serving this policy\'s JWKS (GET)' },
        maxAge: { type: 'string', pattern: DURATION_PATTERN, description: 'Cache-Control max-age of the JWKS replies. Default 5m' },
        discovery: {
          type: 'boolean',
          description: 'also serve `<issuer path>/.well-known/openid-configuration` with `issuer` and `jwks_uri` (issuer must be an http(s) URL). Default false',
        },
      },
    },
  },
} as const;

export interface JwtKeySettings {
  readonly kid: string;
  readonly alg: JwtAlgorithm;
  readonly private?: string;
  readonly public?: string;
  readonly verifyOnly?: boolean;
  readonly notBefore?: string;
}

/** The settings block after validation. */
export interface JwtSettings {
  readonly issuer: string;
  readonly audience?: string | readonly string[];
  readonly subject?: string;
  readonly clockTolerance?: string;
  readonly claims?: Readonly<Record<string, string | number | boolean>>;
  readonly keys: readonly JwtKeySettings[];
  readonly jwks?: { readonly path: string; readonly maxAge?: string; readonly discovery?: boolean };
}

export const isSecretAlgorithm = (alg: JwtAlgorithm): alg is SecretAlgorithm => alg.startsWith('HS');

/**
 * The key ids a policy publishes, with where each is written: two served policies must not
 * publish the same one, since a verifier picks a key from the shared JWKS by `kid` alone.
 */
export function publishedKeyIds(settings: Readonly<Record<string, unknown>>): { kid: string; path: string }[] {
  const { keys = [], jwks } = settings as unknown as JwtSettings;
  if (jwks === undefined) return [];
  return keys.flatMap((key, i) => (isSecretAlgorithm(key.alg) ? [] : [{ kid: key.kid, path: `/keys/${i}/kid` }]));
}

/**
 * Checks the schema cannot express. Each key is parsed here (never echoed): it must be of the
 * type its `alg` needs; some key must be able to sign whatever the date; a `sub` must exist.
 */
export function check(settings: Readonly<Record<string, unknown>>, policy?: Pick<Policy, 'credentials'>): { path: string; message: string }[] {
  const s = settings as unknown as JwtSettings;
  const issues: { path: string; message: string }[] = [];
  const credentials = policy?.credentials;
  if (policy !== undefined && s.subject === undefined && (credentials === undefined || credentials.some((c) => c.id === undefined && c.subject === undefined))) {
    issues.push({ path: '', message: 'tokens would have no "sub", which verify requires: set "subject", or give every credential an id or a subject' });
  }
  for (const name of Object.keys(s.claims ?? {})) {
    if ((RESERVED_CLAIMS as readonly string[]).includes(name)) issues.push({ path: `/claims/${name}`, message: `claim "${name}" is set by the style itself` });
  }
  const keys = s.keys ?? [];
  const seen = new Set<string>();
  keys.forEach((key, i) => {
    if (seen.has(key.kid)) issues.push({ path: `/keys/${i}/kid`, message: `key id "${key.kid}" is listed twice` });
    seen.add(key.kid);
    const problem: KeyProblem | undefined = keyProblem(key);
    if (problem !== undefined) issues.push({ path: `/keys/${i}${problem.at === '' ? '' : `/${problem.at}`}`, message: problem.message });
  });
  if (!keys.some((key) => key.verifyOnly !== true && key.notBefore === undefined)) {
    issues.push({
      path: '/keys',
      message: 'no key can sign at all times: keep at least one key without verifyOnly and without notBefore (drop the notBefore of a key once it signs)',
    });
  }
  if (s.jwks?.discovery === true && !/^https?:\/\/[^/?#]+/.test(s.issuer)) {
    issues.push({ path: '/jwks/discovery', message: 'discovery needs an http(s) URL as issuer: jwks_uri is made from it' });
  }
  return issues;
}

function keyProblem(key: JwtKeySettings): KeyProblem | undefined {
  const given = (key.private === undefined ? 0 : 1) + (key.public === undefined ? 0 : 1);
  if (given !== 1) return { at: '', message: 'give exactly one of "private" and "public"' };
  if (key.public !== undefined && key.verifyOnly !== true) return { at: 'public', message: 'a key given by its public part only cannot sign: set verifyOnly: true' };
  if (key.public !== undefined && isSecretAlgorithm(key.alg)) return { at: 'public', message: `${key.alg} has no public part: give the secret as "private"` };
  if (key.notBefore !== undefined && Number.isNaN(Date.parse(key.notBefore))) return { at: 'notBefore', message: 'notBefore is not a valid date' };
  return describeKey(key).problem;
}
