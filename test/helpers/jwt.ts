import { generateKeyPairSync, type KeyObject } from 'node:crypto';

/** A fresh private key for an algorithm, as PKCS#8 PEM. */
export function keyFor(alg: string): { pem: string; key: KeyObject } {
  const pair =
    alg === 'RS256' || alg === 'PS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : alg === 'ES384'
        ? generateKeyPairSync('ec', { namedCurve: 'P-384' })
        : alg === 'EdDSA'
          ? generateKeyPairSync('ed25519')
          : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { pem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, key: pair.privateKey };
}

export interface KeyLine {
  kid: string;
  alg: string;
  /** File name (in the policy's folder) holding the material. */
  file: string;
  member?: 'private' | 'public';
  verifyOnly?: boolean;
  notBefore?: string;
}

/** A jwt policy's text with the given keys (by `${file:…}`). */
export function jwtPolicy(id: string, keys: readonly KeyLine[], extra = ''): string {
  const lines = keys.map((k) =>
    `    - { kid: ${k.kid}, alg: ${k.alg}, ${k.member ?? 'private'}: "\${file:${k.file}}"${k.verifyOnly ? ', verifyOnly: true' : ''}${k.notBefore ? `, notBefore: "${k.notBefore}"` : ''} }`,
  );
  return [
    `id: ${id}`,
    'style: jwt',
    `route: { path: /${id}/token, methods: [POST] }`,
    `protectedRoute: { path: /${id}/demo, methods: [GET] }`,
    'ttl: { default: 5m, min: 30s, max: 1h }',
    'output: { default: json, allowed: [json] }',
    'reuse: true',
    'jwt:',
    '  issuer: https://auth.test',
    '  audience: api.test',
    '  subject: user-1',
    '  keys:',
    ...lines,
    `  jwks: { path: /${id}/jwks.json, maxAge: 2m }`,
    extra,
  ].join('\n');
}
