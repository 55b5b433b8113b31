import { calculateJwkThumbprint, type JWK } from 'jose';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { UsageError } from './cli-spec.js';

/** What the `jwt` style signs with (its schema's `alg`). */
const ALGORITHMS: readonly string[] = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA', 'HS256', 'HS384', 'HS512'];

function pairFor(alg: string): KeyObject {
  switch (alg) {
    case 'RS256':
    case 'PS256':
      return generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey;
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    case 'ES384':
      return generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    default:
      return generateKeyPairSync('ed25519').privateKey;
  }
}

/**
 * `tokensmith keys generate --alg ALG [--format jwk|pem] [--kid KID]`: a new private key for a
 * `jwt` policy's key list, printed once and kept nowhere. The default `kid` is the key's RFC 7638
 * thumbprint, which no other key shares. HS* gives a random secret (as an oct JWK, or as text).
 *
 * @example generateKey({ alg: 'ES256', format: 'pem' }) // '-----BEGIN PRIVATE KEY-----\n…'
 */
export async function generateKey(options: { alg: string; format: string; kid?: string }): Promise<string> {
  const { alg, format } = options;
  if (!ALGORITHMS.includes(alg)) throw new UsageError(`--alg must be one of ${ALGORITHMS.join(', ')}, got "${alg.slice(0, 16)}"`, 'keys');
  if (format !== 'jwk' && format !== 'pem') throw new UsageError(`--format must be jwk or pem, got "${format.slice(0, 16)}"`, 'keys');
  if (options.kid !== undefined && !/^[A-Za-z0-9._:-]{1,64}$/.test(options.kid)) throw new UsageError('--kid takes 1 to 64 of A-Z a-z 0-9 . _ : -', 'keys');
  if (alg.startsWith('HS')) {
    const bytes = randomBytes(Number(alg.slice(2)) / 8);
    if (format === 'pem') return bytes.toString('base64url');
    const jwk: JWK = { kty: 'oct', k: bytes.toString('base64url') };
    return JSON.stringify({ ...jwk, kid: options.kid ?? (await calculateJwkThumbprint(jwk)), alg });
  }
  const key = pairFor(alg);
  if (format === 'pem') return (key.export({ type: 'pkcs8', format: 'pem' }) as string).trimEnd();
  const jwk = key.export({ format: 'jwk' }) as JWK;
  return JSON.stringify({ ...jwk, kid: options.kid ?? (await calculateJwkThumbprint(jwk)), alg });
}
