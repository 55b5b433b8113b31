import { constants, createHmac, createPrivateKey, createPublicKey, createSecretKey, sign, type KeyObject } from 'node:crypto';
import type { JwtAlgorithm, JwtKeySettings, SecretAlgorithm } from './schema.js';

/** What is wrong with a key, said without its value. `at`: the key's member the problem is in. */
export interface KeyProblem {
  readonly at: string;
  readonly message: string;
}

/** The public members of a JWK, the only ones ever published. */
export type PublicJwk = Readonly<Record<string, string>>;

/** One key read from its settings: what signs (absent for a public-only key) and what verifies. */
export interface ReadKey {
  readonly signing?: KeyObject;
  /** The public key (or the secret, for HS*). */
  readonly verifying: KeyObject;
  /** For a public-key algorithm: the JWK a verifier fetches, with `kid`, `alg` and `use: sig`. */
  readonly jwk?: PublicJwk;
}

const SECRET_BYTES: Readonly<Record<SecretAlgorithm, number>> = { HS256: 32, HS384: 48, HS512: 64 };
const MIN_RSA_BITS = 2048;
/** The key type (and curve) each public-key algorithm needs. */
const FITS: Readonly<Record<string, { type: string; curve?: string; what: string }>> = {
  RS256: { type: 'rsa', what: 'an RSA key' },
  PS256: { type: 'rsa', what: 'an RSA key' },
  ES256: { type: 'ec', curve: 'prime256v1', what: 'an EC key on P-256' },
  ES384: { type: 'ec', curve: 'secp384r1', what: 'an EC key on P-384' },
  EdDSA: { type: 'ed25519', what: 'an Ed25519 key' },
};
const PUBLIC_MEMBERS: Readonly<Record<string, readonly string[]>> = { RSA: ['n', 'e'], EC: ['crv', 'x', 'y'], OKP: ['crv', 'x'] };

/**
 * Reads a key's material (PEM or JWK; the secret for HS*) and checks it fits its `alg`. Error
 * messages never carry the material, nor what the parser said about it.
 */
export function describeKey(key: JwtKeySettings): { read?: ReadKey; problem?: KeyProblem } {
  const at = key.private === undefined ? 'public' : 'private';
  const material = (key.private ?? key.public) as string;
  if (key.alg.startsWith('HS')) return readSecret(material, key.alg as SecretAlgorithm);
  let object: KeyObject;
  try {
    object = readAsymmetric(material, at === 'private');
  } catch {
    return { problem: { at, message: `"${at}" is not a ${at} key this style can read (PEM or JWK)` } };
  }
  const fit = FITS[key.alg] as { type: string; curve?: string; what: string };
  const details = object.asymmetricKeyDetails ?? {};
  if (object.asymmetricKeyType !== fit.type || (fit.curve !== undefined && details.namedCurve !== fit.curve)) {
    return { problem: { at: 'alg', message: `${key.alg} needs ${fit.what}; the key given is ${kindOf(object)}` } };
  }
  if (fit.type === 'rsa' && (details.modulusLength ?? 0) < MIN_RSA_BITS) {
    return { problem: { at, message: `the RSA key has ${details.modulusLength} bits; use at least ${MIN_RSA_BITS}` } };
  }
  const verifying = at === 'private' ? createPublicKey(object) : object;
  const full = verifying.export({ format: 'jwk' }) as Record<string, string>;
  const kty = full['kty'] as string;
  const jwk: Record<string, string> = { kty };
  for (const member of PUBLIC_MEMBERS[kty] ?? []) jwk[member] = full[member] as string;
  Object.assign(jwk, { kid: key.kid, alg: key.alg, use: 'sig' });
  return { read: { ...(at === 'private' ? { signing: object } : {}), verifying, jwk: Object.freeze(jwk) } };
}

function readAsymmetric(material: string, isPrivate: boolean): KeyObject {
  const text = material.trim();
  if (text.startsWith('{')) {
    const jwk = JSON.parse(text) as Record<string, unknown>;
    return isPrivate ? createPrivateKey({ key: jwk as never, format: 'jwk' }) : createPublicKey({ key: publicPart(jwk) as never, format: 'jwk' });
  }
  return isPrivate ? createPrivateKey(text) : createPublicKey(text);
}

/** A JWK given as `public` is read without any private member it might carry by mistake. */
function publicPart(jwk: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = { kty: jwk['kty'] };
  for (const member of PUBLIC_MEMBERS[String(jwk['kty'])] ?? []) kept[member] = jwk[member];
  return kept;
}

function readSecret(material: string, alg: SecretAlgorithm): { read?: ReadKey; problem?: KeyProblem } {
  let bytes: Buffer;
  if (material.trim().startsWith('{')) {
    let k: unknown;
    try {
      const jwk = JSON.parse(material) as Record<string, unknown>;
      k = jwk['kty'] === 'oct' ? jwk['k'] : undefined;
    } catch {
      // Reported below, as any other unreadable secret.
    }
    if (typeof k !== 'string') return { problem: { at: 'private', message: '"private" is not an oct JWK (kty "oct" with "k")' } };
    bytes = Buffer.from(k, 'base64url');
  } else bytes = Buffer.from(material, 'utf8');
  const need = SECRET_BYTES[alg];
  if (bytes.length < need) return { problem: { at: 'private', message: `the ${alg} secret is too short: use at least ${need} bytes` } };
  const secret = createSecretKey(bytes);
  return { read: { signing: secret, verifying: secret } };
}

function kindOf(object: KeyObject): string {
  const curve = object.asymmetricKeyDetails?.namedCurve;
  return `${object.asymmetricKeyType ?? 'unknown'}${curve === undefined ? '' : ` (${curve})`}`;
}

/**
 * Signs `input` (the JWS signing input) with node:crypto, synchronously: WebCrypto's
 * asynchronous sign (what jose uses) costs more per token, and the signature is the same JWS.
 */
export function signer(alg: JwtAlgorithm, key: KeyObject): (input: string) => string {
  switch (alg) {
    case 'HS256':
    case 'HS384':
    case 'HS512': {
      const hash = `sha${alg.slice(2)}`;
      return (input) => createHmac(hash, key).update(input).digest('base64url');
    }
    case 'RS256':
      return (input) => sign('sha256', Buffer.from(input), key).toString('base64url');
    case 'PS256': {
      const options = { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
      return (input) => sign('sha256', Buffer.from(input), options).toString('base64url');
    }
    case 'ES256':
    case 'ES384': {
      const options = { key, dsaEncoding: 'ieee-p1363' as const };
      const hash = alg === 'ES256' ? 'sha256' : 'sha384';
      return (input) => sign(hash, Buffer.from(input), options).toString('base64url');
    }
    case 'EdDSA':
      return (input) => sign(null, Buffer.from(input), key).toString('base64url');
  }
}
