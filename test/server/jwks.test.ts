import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { boot, type Booted } from '../../server/bootstrap.js';
import { createApp } from '../../server/app.js';
import { createLogger, flushLogger } from '../../server/logging.js';
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { reloader } from '../../server/reload.js';
import { form, listen } from '../helpers/http.js';
import { jwtPolicy, keyFor } from '../helpers/jwt.js';

const run = promisify(execFile);
/** Debian's python3, where python3-jwt and python3-cryptography are installed (a pyenv shim may lack them). */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const SILENT = { info() {}, warn() {}, error() {} };

describe('JWKS routes and interop over loopback', () => {
  let dir: string;
  let booted: Booted;
  let http: Awaited<ReturnType<typeof listen>>;
  const write = (name: string, text: string) => writeFileSync(join(dir, name), text);
  const issue = async (id: string) => {
    const res = await fetch(`${http.url}/${id}/token`, form({}));
    expect(res.status).to.equal(200);
    return ((await res.json()) as { token: string }).token;
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ts-jwks-'));
    write('a.pem', keyFor('ES256').pem);
    write('b.pem', keyFor('EdDSA').pem);
    write('r.pem', keyFor('RS256').pem);
    write('h.txt', 'an-hs256-secret-of-at-least-32-bytes-0123');
    write('a.yaml', jwtPolicy('a', [{ kid: 'a1', alg: 'ES256', file: 'a.pem' }, { kid: 'r1', alg: 'RS256', file: 'r.pem', verifyOnly: true }]));
    write('b.yaml', jwtPolicy('b', [{ kid: 'b1', alg: 'EdDSA', file: 'b.pem' }]).replace('maxAge: 2m', 'maxAge: 30s'));
    // An HS256 policy with a JWKS block publishes nothing: its key is a secret.
    write('h.yaml', jwtPolicy('h', [{ kid: 'h1', alg: 'HS256', file: 'h.txt' }]));
    booted = await boot({ policies: [dir], store: 'memory', env: {} });
    http = await listen(createApp({ engine: booted.engine }));
  });
  afterEach(async () => {
    await http.close();
    await booted.store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('each policy publishes its public keys at its own path: public members, kid, alg, use: sig, Cache-Control from the policy', async () => {
    const res = await fetch(`${http.url}/a/jwks.json`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('application/json; charset=utf-8');
    expect(res.headers.get('cache-control')).to.equal('public, max-age=120');
    const { keys } = (await res.json()) as { keys: Record<string, string>[] };
    expect(keys.map((k) => Object.keys(k).sort())).to.deep.equal([
      ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'],
      ['alg', 'e', 'kid', 'kty', 'n', 'use'],
    ]);
    expect(keys.map((k) => [k['kid'], k['alg'], k['use']])).to.deep.equal([['a1', 'ES256', 'sig'], ['r1', 'RS256', 'sig']]);
    expect(((await (await fetch(`${http.url}/h/jwks.json`)).json()) as { keys: unknown[] }).keys).to.deep.equal([]);
  });
  it('a policy\'s JWKS route answers HEAD as GET, with no body; other methods get 405 naming GET and HEAD', async () => {
    const head = await fetch(`${http.url}/a/jwks.json`, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-type'), head.headers.get('cache-control'), await head.text()]).to.deep.equal([
      200, 'application/json; charset=utf-8', 'public, max-age=120', '',
    ]);
    const post = await fetch(`${http.url}/a/jwks.json`, { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).to.deep.equal([405, 'GET, HEAD']);
  });
  it('GET /.well-known/jwks.json lists every served policy\'s keys with the shortest max-age; other methods get 405 JSON', async () => {
    const res = await fetch(`${http.url}/.well-known/jwks.json`);
    expect(res.headers.get('cache-control')).to.equal('public, max-age=30');
    expect(((await res.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid)).to.deep.equal(['a1', 'r1', 'b1']);
    const post = await fetch(`${http.url}/.well-known/jwks.json`, { method: 'POST' });
    expect([post.status, post.headers.get('allow'), ((await post.json()) as { error: string }).error]).to.deep.equal([405, 'GET, HEAD', 'ERR_METHOD_NOT_ALLOWED']);
  });
  it('follows a reload: a key added to a policy is listed from the first request after it', async () => {
    write('c.pem', keyFor('ES384').pem);
    write('b.yaml', jwtPolicy('b', [{ kid: 'c1', alg: 'ES384', file: 'c.pem', notBefore: '2099-01-01T00:00:00Z' }, { kid: 'b1', alg: 'EdDSA', file: 'b.pem' }]));
    const { reload } = reloader(booted, { policies: [dir], env: {}, logger: SILENT });
    expect((await reload('test')).ok).to.equal(true);
    const kids = async (path: string) => ((await (await fetch(`${http.url}${path}`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    expect(await kids('/.well-known/jwks.json')).to.deep.equal(['a1', 'r1', 'c1', 'b1']);
    expect(await kids('/b/jwks.json')).to.deep.equal(['c1', 'b1']);
  });
  it('serves an OpenID-style discovery document beside the issuer when the policy asks', async () => {
    write('d.pem', keyFor('ES256').pem);
    write('d.yaml', jwtPolicy('d', [{ kid: 'd1', alg: 'ES256', file: 'd.pem' }]).replace('issuer: https://auth.test', 'issuer: https://auth.test/tenants/d').replace('maxAge: 2m }', 'maxAge: 2m, discovery: true }'));
    const { reload } = reloader(booted, { policies: [dir], env: {}, logger: SILENT });
    expect((await reload('test')).ok).to.equal(true);
    const res = await fetch(`${http.url}/tenants/d/.well-known/openid-configuration`);
    expect(res.headers.get('cache-control')).to.equal('public, max-age=120');
    expect(await res.json()).to.deep.equal({ issuer: 'https://auth.test/tenants/d', jwks_uri: 'https://auth.test/d/jwks.json', id_token_signing_alg_values_supported: ['ES256'] });
  });

  it('shows no private key material in the JWKS, the request log or /metrics, whatever callers send', async () => {
    const lines: string[] = [];
    const logger = createLogger({ destination: { write: (line: string) => void lines.push(line) } });
    const logged = await listen(createApp({ engine: booted.engine, logger }));
    try {
      const token = await issue('a');
      const seen: string[] = [];
      for (const [path, init] of [
        ['/a/jwks.json', {}], ['/.well-known/jwks.json', {}], ['/a/demo', { headers: { authorization: `Bearer ${token}` } }],
        ['/a/demo', { headers: { authorization: `Bearer ${token.slice(0, -3)}xyz` } }], ['/a/demo', { headers: { authorization: 'Bearer eyJhbGciOiJub25lIn0.e30.' } }],
        ['/a/token', { method: 'POST', body: 'client_id=%00&expires_in=-1' }], ['/metrics', {}],
      ] as const) seen.push(await (await fetch(`${logged.url}${path}`, init as RequestInit)).text());
      await flushLogger(logger);
      const everything = [...seen, ...lines].join('\n');
      for (const file of ['a.pem', 'b.pem', 'r.pem']) {
        const text = readFileSync(join(dir, file), 'utf8');
        const { d } = createPrivateKey(text).export({ format: 'jwk' }) as { d: string };
        expect(everything).not.to.include(d);
        expect(everything).not.to.include(text.split('\n')[1]);
      }
      expect(everything).not.to.include('an-hs256-secret');
      expect(lines.length).to.be.greaterThan(3);
    } finally {
      await logged.close();
    }
  });

  describe('independent verifiers fetching our JWKS', () => {
    it('jose createRemoteJWKSet verifies ES256 and EdDSA tokens, and refuses a token of another audience', async () => {
      const keys = createRemoteJWKSet(new URL(`${http.url}/.well-known/jwks.json`));
      for (const id of ['a', 'b']) {
        const { payload } = await jwtVerify(await issue(id), keys, { issuer: 'https://auth.test', audience: 'api.test' });
        expect(payload).to.include({ sub: 'user-1' });
      }
      let refused: unknown;
      await jwtVerify(await issue('a'), keys, { issuer: 'https://auth.test', audience: 'other.test' }).catch((err: unknown) => (refused = err));
      expect((refused as { code?: string }).code).to.equal('ERR_JWT_CLAIM_VALIDATION_FAILED');
    });
    it('Python PyJWT with PyJWKClient (cryptography) verifies ES256 and EdDSA tokens, and refuses a changed one', async function () {
      const script = 'test/fixtures/jwt/verify_with_jwks.py';
      for (const id of ['a', 'b']) {
        const { stdout } = await run(PYTHON, [script, `${http.url}/${id}/jwks.json`, await issue(id), 'https://auth.test', 'api.test']);
        expect(JSON.parse(stdout)).to.include({ sub: 'user-1', iss: 'https://auth.test', aud: 'api.test' });
      }
      const token = await issue('a');
      const changed = `${token.slice(0, -4)}${token.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
      const refused = await run(PYTHON, [script, `${http.url}/a/jwks.json`, changed, 'https://auth.test', 'api.test']).catch((err: { stdout: string; code: number }) => err);
      expect(refused).to.deep.include({ code: 1, stdout: 'refused: InvalidSignatureError\n' });
    });
  });
});
