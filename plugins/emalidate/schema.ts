import { DURATION_PATTERN } from '../../core/duration.js';
import type { Policy } from '../../core/policy/types.js';

/** The HMAC algorithms emalidate tokens may use; the policy's allow-list is a subset. */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export type HmacAlgorithm = (typeof HMAC_ALGORITHMS)[number];

/** Secrets shorter than this are refused at load time (HS256 wants ≥ 256 bits; 16 chars is the floor). */
export const MIN_SECRET_LENGTH = 16;

/**
 * JSON Schema of a policy's `emalidate:` block.
 *
 * @example
 * ```yaml
 * emalidate:
 *   issuer: shop.example
 *   subject: user-42
 *   keys: [{ kid: key-2026, secret: "${env:EMALIDATE_SECRET}" }]
 * ```
 */
export const settingsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['issuer', 'keys'],
  properties: {
    issuer: { type: 'string', minLength: 1, description: '`iss` of minted tokens, required on verify (your domain, or emalidate.com)' },
    subject: {
      type: 'string',
      minLength: 1,
      description: '`sub` (your user id) when the credential names none; without it, the credential id. Needed when the policy has no credentials',
    },
    algorithms: {
      type: 'array',
      items: { enum: [...HMAC_ALGORITHMS] },
      minItems: 1,
      uniqueItems: true,
      description: 'algorithm allow-list; the first signs. Default [HS256]',
    },
    clockTolerance: { type: 'string', pattern: DURATION_PATTERN, description: 'leeway for exp/nbf. Default 15s' },
    keys: {
      type: 'array',
      minItems: 1,
      description: 'the first key signs, every key verifies (rotation)',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['kid', 'secret'],
        properties: {
          kid: { type: 'string', minLength: 1, description: 'API key id (header and payload `kid`)' },
          secret: { type: 'string', minLength: 1, description: 'the secret phrase; use ${env:…} or ${file:…}' },
        },
      },
    },
  },
} as const;

/** The settings block after validation. */
export interface EmalidateSettings {
  readonly issuer: string;
  readonly subject?: string;
  readonly algorithms?: readonly HmacAlgorithm[];
  readonly clockTolerance?: string;
  readonly keys: readonly { readonly kid: string; readonly secret: string }[];
}

/**
 * Checks the schema cannot express: unique key ids, secrets long enough, and a `sub` for every
 * token (emalidate's payload always has one and verify requires it, so a policy that could mint
 * a token without one would serve tokens that never verify). Never echoes a secret.
 */
export function check(settings: Readonly<Record<string, unknown>>, policy?: Pick<Policy, 'credentials'>): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  const credentials = policy?.credentials;
  if (policy !== undefined && (settings as unknown as EmalidateSettings).subject === undefined && (credentials === undefined || credentials.some((c) => c.id === undefined && c.subject === undefined))) {
    issues.push({
      path: '',
      message:
        'tokens would have no "sub", which verify requires: set "subject", or give every credential an id or a subject (a token\'s sub is its credential\'s subject, else its id)',
    });
  }
  const keys = (settings as unknown as EmalidateSettings).keys ?? [];
  const seen = new Set<string>();
  keys.forEach((key, i) => {
    if (seen.has(key.kid)) issues.push({ path: `/keys/${i}/kid`, message: `key id "${key.kid}" is listed twice` });
    seen.add(key.kid);
    if (key.secret.length < MIN_SECRET_LENGTH) {
      issues.push({ path: `/keys/${i}/secret`, message: `secret is too short: use at least ${MIN_SECRET_LENGTH} characters (32 or more recommended)` });
    }
  });
  return issues;
}
