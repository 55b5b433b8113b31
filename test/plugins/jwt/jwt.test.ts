import { expect } from 'chai';
import { createHmac, generateKeyPairSync, sign as nodeSign, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import jsonwebtoken from 'jsonwebtoken';
import { ManualClock } from '../../../core/clock.js';
import { tokenRequestFrom } from '../../../core/request.js';
import { boot, type Booted } from '../../../server/bootstrap.js';
import { main } from '../../../server/cli.js';
import { reloader } from '../../../server/reload.js';
import { T0, rejection } from '../../helpers/boot.js';
import { jwtPolicy, keyFor, type KeyLine } from '../../helpers/jwt.js';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>;
const request = (params: Record<string, string> = {}) => tokenRequestFrom(params, '127.0.0.1');
const bearer = (token: string) => tokenRequestFrom({}, '127.0.0.1', { bearer: token });

describe('plugins/jwt', () => {
  let dir: string;
  let booted: Booted | undefined;
  const write = (name: string, text: string) => writeFileSync(join(dir, name), text);
  const start = async (clock = new ManualClock(T0)) => {
    booted = await boot({ policies: [dir], store: 'memory', env: {}, clock });
    return { engine: booted.engine, clock };
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ts-jwt-'));
  });
  afterEach(async () => {
    await booted?.store.close();
    booted = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  describe('issue and verify, per algorithm', () => {
    for (const alg of ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA']) {
      it(`${alg}: kid in the header, the policy's claims, verified here and by an independent verifier with the public key`, async () => {
        const { pem, key } = keyFor(alg);
        write('k.pem', pem);
        write('c.txt', 'client-secret-0123456789');
        const credentials = 'reuse: true\ncredentials: [{ id: c1, secret: "${file:c.txt}", subject: user-1, scopes: [read, write, admin] }]';
        write('p.yaml', jwtPolicy('p', [{ kid: 'k1', alg, file: 'k.pem' }], '  claims: { tenant: acme, tier: 2 }').replace('reuse: true', credentials));
        const { engine } = await start();
        const { token } = await engine.issue('p', request({ client_id: 'c1', client_secret: 'client-secret-0123456789', scope: 'read write' }));
        const [header, body] = token.split('.') as [string, string];
        expect(decode(header)).to.deep.equal({ alg, typ: 'JWT', kid: 'k1' });
        const now = Math.floor(T0 / 1000);
        expect(decode(body)).to.deep.include({ iss: 'https://auth.test', aud: 'api.test', sub: 'user-1', iat: now, nbf: now, exp: now + 300, scope: 'read write', tenant: 'acme', tier: 2 });
        expect((await engine.verify('p', undefined, bearer(token))).subject).to.equal('user-1');
        const publicPem = (await import('node:crypto')).createPublicKey(key).export({ type: 'spki', format: 'pem' }) as string;
        if (alg === 'EdDSA') {
          // jsonwebtoken 9 has no EdDSA: node:crypto checks the signature on its own.
          const [h, p, s] = token.split('.') as [string, string, string];
          expect((await import('node:crypto')).verify(null, Buffer.from(`${h}.${p}`), publicPem, Buffer.from(s, 'base64url'))).to.equal(true);
        } else {
          const claims = jsonwebtoken.verify(token, publicPem, { algorithms: [alg as jsonwebtoken.Algorithm], audience: 'api.test', issuer: 'https://auth.test', clockTimestamp: now }) as Record<string, unknown>;
          expect(claims).to.include({ sub: 'user-1', tenant: 'acme' });
        }
      });
    }
    it('HS256, for symmetry with emalidate: verifies with the secret, and is never published', async () => {
      const secret = 'an-hs256-secret-of-at-least-32-bytes-0123';
      write('s.txt', secret);
      write('p.yaml', jwtPolicy('p', [{ kid: 'h1', alg: 'HS256', file: 's.txt' }]));
      const { engine } = await start();
      const { token } = await engine.issue('p', request());
      expect(jsonwebtoken.verify(token, secret, { algorithms: ['HS256'], clockTimestamp: Math.floor(T0 / 1000) })).to.include({ sub: 'user-1' });
      expect(engine.served.get('p').publishedKeys?.keys).to.deep.equal([]);
    });
  });

  describe('policy check', () => {
    const issuesOf = async () => (await rejection(() => start())) as Error & { code?: string; issues?: { message: string; path: string }[] };
    it('refuses a key whose alg does not fit its type, a short RSA key, a key listed by its public part that could sign, and names no key material', async () => {
      const rsa = keyFor('RS256');
      const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
      const ec = keyFor('ES256');
      write('rsa.pem', rsa.pem);
      write('small.pem', small);
      write('ec.pub', ec.key.export({ type: 'pkcs8', format: 'pem' }) as string);
      write('p.yaml', jwtPolicy('p', [
        { kid: 'a', alg: 'ES256', file: 'rsa.pem' },
        { kid: 'b', alg: 'RS256', file: 'small.pem' },
        { kid: 'c', alg: 'RS256', file: 'rsa.pem' },
        { kid: 'd', alg: 'ES256', file: 'ec.pub', member: 'public' },
      ]));
      const err = await issuesOf();
      expect(err.code).to.equal('ERR_POLICY_INVALID');
      const messages = (err.issues ?? []).map((i) => `${i.path}: ${i.message}`);
      expect(messages).to.deep.equal([
        '/jwt/keys/0/alg: ES256 needs an EC key on P-256; the key given is rsa',
        '/jwt/keys/1/private: the RSA key has 1024 bits; use at least 2048',
        '/jwt/keys/3/public: a key given by its public part only cannot sign: set verifyOnly: true',
      ]);
      for (const pem of [rsa.pem, small]) expect(err.message).not.to.include(pem.split('\n')[1]);
    });
    it('refuses a key list where no key can sign at all times (only retired keys, or keys waiting for their notBefore)', async () => {
      write('k.pem', keyFor('ES256').pem);
      write('p.yaml', jwtPolicy('p', [
        { kid: 'a', alg: 'ES256', file: 'k.pem', notBefore: '2026-12-01T00:00:00Z' },
        { kid: 'b', alg: 'ES256', file: 'k.pem', verifyOnly: true },
      ]));
      expect((await issuesOf()).issues?.map((i) => i.path)).to.deep.equal(['/jwt/keys']);
    });
    it('refuses a key id published by two served policies, once, at the second policy\'s key', async () => {
      write('k.pem', keyFor('ES256').pem);
      write('k2.pem', keyFor('ES256').pem);
      write('a.yaml', jwtPolicy('a', [{ kid: 'shared', alg: 'ES256', file: 'k.pem' }]));
      write('b.yaml', jwtPolicy('b', [{ kid: 'own', alg: 'ES256', file: 'k2.pem' }, { kid: 'shared', alg: 'ES256', file: 'k2.pem', verifyOnly: true }]));
      const err = await issuesOf();
      expect(err.issues?.map((i) => `${i.path}: ${i.message}`)).to.deep.equal([
        '/jwt/keys/1/kid: key id "shared" is already published by policy a; key ids must be unique across the served JWKS',
      ]);
    });
    it('warns about a key written into the policy file itself, as about any secret', async () => {
      write('p.yaml', jwtPolicy('p', [{ kid: 'a', alg: 'HS256', file: 'unused' }]).replace('private: "${file:unused}"', 'private: an-hs256-secret-written-in-the-file-0123'));
      await start();
      expect(booted?.warnings.map((w) => w.message)).to.deep.equal(['a secret is written in the file (value not shown); use ${env:NAME} or ${file:path} instead']);
    });
    it('refuses fixed claims that would overwrite the style\'s own', async () => {
      write('k.pem', keyFor('ES256').pem);
      write('p.yaml', jwtPolicy('p', [{ kid: 'a', alg: 'ES256', file: 'k.pem' }], '  claims: { aud: everyone }'));
      expect((await issuesOf()).issues?.map((i) => i.path)).to.deep.equal(['/jwt/claims/aud']);
    });
    it('`tokensmith check` prints no key material', async () => {
      const { pem } = keyFor('ES256');
      write('k.pem', pem);
      write('p.yaml', jwtPolicy('p', [{ kid: 'a', alg: 'ES384', file: 'k.pem' }]));
      const out: string[] = [];
      const code = await main(['check', dir], { out: (t) => out.push(t), err: (t) => out.push(t), env: {} });
      expect(code).to.equal(1);
      expect(out.join('\n')).to.include('ES384 needs an EC key on P-384; the key given is ec (prime256v1)');
      expect(out.join('\n')).not.to.include(pem.split('\n')[1]);
    });
  });

  describe('forgeries', () => {
    let engine: Booted['engine'];
    let mine: KeyObject;
    let publicPem: string;
    let now: number;
    const claims = () => ({ iss: 'https://auth.test', aud: 'api.test', sub: 'user-1', iat: now, exp: now + 300, jti: 'j-1' });
    const signed = async (header: Record<string, unknown>, payload: Record<string, unknown> = claims(), key: KeyObject = mine) =>
      new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: 'k1', ...header } as never).sign(key);
    const refusal = async (token: string) => (await rejection(() => engine.verify('p', undefined, bearer(token)))).code;

    beforeEach(async () => {
      const made = keyFor('ES256');
      mine = made.key;
      publicPem = (await import('node:crypto')).createPublicKey(mine).export({ type: 'spki', format: 'pem' }) as string;
      write('k.pem', made.pem);
      write('o.pem', keyFor('ES256').pem);
      write('p.yaml', jwtPolicy('p', [{ kid: 'k1', alg: 'ES256', file: 'k.pem' }]));
      write('o.yaml', jwtPolicy('o', [{ kid: 'o1', alg: 'ES256', file: 'o.pem' }]));
      ({ engine } = await start());
      now = Math.floor(T0 / 1000);
    });

    it('accepts a token made with the right key by another implementation (the baseline the refusals below differ from)', async () => {
      expect((await engine.verify('p', undefined, bearer(await signed({})))).tokenId).to.equal('j-1');
    });
    it('refuses alg "none"', async () => {
      expect(await refusal(`${b64({ alg: 'none', typ: 'JWT', kid: 'k1' })}.${b64(claims())}.`)).to.equal('ERR_TOKEN_ALG_NOT_ALLOWED');
    });
    it('refuses HS256 signed with the public key (key confusion)', async () => {
      const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: 'k1' })}.${b64(claims())}`;
      expect(await refusal(`${input}.${createHmac('sha256', publicPem).update(input).digest('base64url')}`)).to.equal('ERR_TOKEN_ALG_NOT_ALLOWED');
    });
    it('refuses a token signed with another policy\'s key, under that key\'s kid or under ours', async () => {
      const { token } = await engine.issue('o', request());
      expect(await refusal(token)).to.equal('ERR_TOKEN_KID_UNKNOWN');
      const [, payload, signature] = token.split('.') as [string, string, string];
      expect(await refusal(`${b64({ alg: 'ES256', typ: 'JWT', kid: 'k1' })}.${payload}.${signature}`)).to.equal('ERR_TOKEN_SIGNATURE');
    });
    it('refuses an unknown kid, and a token that names none', async () => {
      expect(await refusal(await signed({ kid: 'k9' }))).to.equal('ERR_TOKEN_KID_UNKNOWN');
      const input = `${b64({ alg: 'ES256', typ: 'JWT' })}.${b64(claims())}`;
      const sig = nodeSign('sha256', Buffer.from(input), { key: mine, dsaEncoding: 'ieee-p1363' }).toString('base64url');
      expect(await refusal(`${input}.${sig}`)).to.equal('ERR_TOKEN_KID_UNKNOWN');
    });
    for (const header of ['jku', 'x5u', 'jwk', 'x5c']) {
      it(`refuses a "${header}" header pointing elsewhere, even on a token our key signed`, async () => {
        const value = header === 'jwk' ? { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' } : header === 'x5c' ? ['MIIB'] : 'http://127.0.0.1:9/keys.json';
        expect(await refusal(await signed({ [header]: value }))).to.equal('ERR_TOKEN_KID_UNKNOWN');
      });
    }
    it('refuses a wrong aud, a missing aud and a wrong iss', async () => {
      expect(await refusal(await signed({}, { ...claims(), aud: 'other.test' }))).to.equal('ERR_TOKEN_CLAIM_INVALID');
      const { aud: _aud, ...noAud } = claims();
      expect(await refusal(await signed({}, noAud))).to.equal('ERR_TOKEN_CLAIM_INVALID');
      expect(await refusal(await signed({}, { ...claims(), iss: 'https://evil.test' }))).to.equal('ERR_TOKEN_CLAIM_INVALID');
    });
    it('refuses an expired token beyond the clock tolerance, and a lifetime longer than ttl.max', async () => {
      expect(await refusal(await signed({}, { ...claims(), iat: now - 400, exp: now - 16 }))).to.equal('ERR_TOKEN_EXPIRED');
      expect(await refusal(await signed({}, { ...claims(), exp: now + 7200 }))).to.equal('ERR_TOKEN_CLAIM_INVALID');
    });
  });

  describe('scopes on request', () => {
    it('narrows a credential\'s scopes, and is refused where a credential lists none (the scopes guard would grant anything)', async () => {
      write('k.pem', keyFor('ES256').pem);
      write('c.txt', 'client-secret-0123456789');
      const withScopes = 'reuse: true\ncredentials: [{ id: c1, secret: "${file:c.txt}", scopes: [read] }]';
      write('p.yaml', jwtPolicy('p', [{ kid: 'k1', alg: 'ES256', file: 'k.pem' }]).replace('reuse: true', withScopes));
      write('q.pem', keyFor('ES256').pem);
      write('q.yaml', jwtPolicy('q', [{ kid: 'q1', alg: 'ES256', file: 'q.pem' }]));
      const { engine } = await start();
      const client = { client_id: 'c1', client_secret: 'client-secret-0123456789' };
      expect((await rejection(() => engine.issue('p', request({ ...client, scope: 'read admin' })))).code).to.equal('ERR_SCOPE_NOT_ALLOWED');
      expect((await engine.issue('p', request({ ...client, scope: 'read' }))).record.scopes).to.deep.equal(['read']);
      expect((await rejection(() => engine.issue('q', request({ scope: 'admin' })))).code).to.equal('ERR_SCOPE_NOT_ALLOWED');
      expect((await engine.issue('q', request())).record.scopes).to.deep.equal([]);
    });
  });

  describe('single use and revocation (the keeper of self-contained tokens)', () => {
    it('a reuse: false policy verifies a token once; a revoked token is refused', async () => {
      write('k.pem', keyFor('EdDSA').pem);
      write('p.yaml', jwtPolicy('p', [{ kid: 'k1', alg: 'EdDSA', file: 'k.pem' }]).replace('reuse: true', 'reuse: false'));
      const { engine } = await start();
      const once = (await engine.issue('p', request())).token;
      await engine.verify('p', undefined, bearer(once));
      expect((await rejection(() => engine.verify('p', undefined, bearer(once)))).code).to.equal('ERR_TOKEN_REUSED');
      const other = (await engine.issue('p', request())).token;
      expect(await engine.revoke(other, 'p')).to.equal(true);
      expect((await rejection(() => engine.verify('p', undefined, bearer(other)))).code).to.equal('ERR_TOKEN_REVOKED');
    });
    it('introspection shows the claims, never key material', async () => {
      const { pem, key } = keyFor('ES256');
      write('k.pem', pem);
      write('p.yaml', jwtPolicy('p', [{ kid: 'k1', alg: 'ES256', file: 'k.pem' }]));
      const { engine } = await start();
      const { token } = await engine.issue('p', request());
      const seen = JSON.stringify([await engine.introspect(token), engine.served.get('p').publishedKeys]);
      expect(seen).to.include('"sub":"user-1"');
      expect(seen).not.to.include((key.export({ format: 'jwk' }) as { d: string }).d);
      expect(seen).not.to.match(/"d":/);
    });
  });

  describe('rotation through reloads', () => {
    it('adding a key ahead of use, promoting it, retiring the old one and keeping only its public part never breaks a token valid before', async () => {
      const a = keyFor('ES256');
      const b = keyFor('EdDSA');
      write('a.pem', a.pem);
      write('a.pub', (await import('node:crypto')).createPublicKey(a.key).export({ type: 'spki', format: 'pem' }) as string);
      write('b.pem', b.pem);
      const version = (keys: KeyLine[]) => write('p.yaml', jwtPolicy('p', keys));
      version([{ kid: 'a', alg: 'ES256', file: 'a.pem' }]);
      const clock = new ManualClock(T0);
      const { engine } = await start(clock);
      const { reload } = reloader(booted as Booted, { policies: [dir], env: {}, logger: { info() {}, warn() {}, error() {} } });
      const kidOf = (token: string) => decode(token.split('.')[0] as string)['kid'];
      const published = () => engine.served.get('p').publishedKeys?.keys.map((k) => k['kid']);
      const valid = async (token: string) => (await engine.verify('p', undefined, bearer(token))).subject;
      const before = (await engine.issue('p', request())).token;

      // 1. b is published ahead of use: a still signs until b's notBefore.
      version([{ kid: 'b', alg: 'EdDSA', file: 'b.pem', notBefore: new Date(T0 + 60_000).toISOString() }, { kid: 'a', alg: 'ES256', file: 'a.pem' }]);
      expect((await reload('test')).ok).to.equal(true);
      expect(published()).to.deep.equal(['b', 'a']);
      expect(await valid(before)).to.equal('user-1');
      expect(kidOf((await engine.issue('p', request())).token)).to.equal('a');
      clock.advance(60_000);
      const fromB = (await engine.issue('p', request())).token;
      expect(kidOf(fromB)).to.equal('b');

      // 2. a retires: b signs, a still verifies and is still published.
      version([{ kid: 'b', alg: 'EdDSA', file: 'b.pem' }, { kid: 'a', alg: 'ES256', file: 'a.pem', verifyOnly: true }]);
      expect((await reload('test')).ok).to.equal(true);
      expect(await valid(before)).to.equal('user-1');
      expect(await valid(fromB)).to.equal('user-1');
      expect(kidOf((await engine.issue('p', request())).token)).to.equal('b');

      // 3. a's private part is destroyed: its public part still verifies its tokens.
      version([{ kid: 'b', alg: 'EdDSA', file: 'b.pem' }, { kid: 'a', alg: 'ES256', file: 'a.pub', member: 'public', verifyOnly: true }]);
      expect((await reload('test')).ok).to.equal(true);
      expect(published()).to.deep.equal(['b', 'a']);
      expect(await valid(before)).to.equal('user-1');

      // 4. once a's tokens have expired, a goes: its tokens are now unknown.
      version([{ kid: 'b', alg: 'EdDSA', file: 'b.pem' }]);
      expect((await reload('test')).ok).to.equal(true);
      expect((await rejection(() => engine.verify('p', undefined, bearer(before)))).code).to.equal('ERR_TOKEN_KID_UNKNOWN');
      expect(await valid(fromB)).to.equal('user-1');
    });
    it('a reload that would break the key list is refused and the previous keys are still served', async () => {
      write('a.pem', keyFor('ES256').pem);
      write('p.yaml', jwtPolicy('p', [{ kid: 'a', alg: 'ES256', file: 'a.pem' }]));
      const { engine } = await start();
      const { reload } = reloader(booted as Booted, { policies: [dir], env: {}, logger: { info() {}, warn() {}, error() {} } });
      const before = (await engine.issue('p', request())).token;
      write('p.yaml', jwtPolicy('p', [{ kid: 'a', alg: 'ES256', file: 'a.pem', verifyOnly: true }]));
      expect((await reload('test')).ok).to.equal(false);
      expect((await engine.verify('p', undefined, bearer(before))).subject).to.equal('user-1');
    });
  });

  describe('tokensmith keys generate', () => {
    for (const [alg, format] of [['ES256', 'jwk'], ['EdDSA', 'pem'], ['RS256', 'jwk'], ['HS256', 'jwk']] as const) {
      it(`--alg ${alg} --format ${format} prints a key a jwt policy signs with`, async () => {
        const out: string[] = [];
        expect(await main(['keys', 'generate', '--alg', alg, '--format', format], { out: (t) => out.push(t), err: (t) => out.push(t), env: {} })).to.equal(0);
        const text = out.join('\n');
        if (format === 'jwk') expect(JSON.parse(text)).to.include({ alg }).and.to.have.property('kid');
        write('k.key', text);
        write('p.yaml', jwtPolicy('p', [{ kid: 'k', alg, file: 'k.key' }]));
        const { engine } = await start();
        const { token } = await engine.issue('p', request());
        expect((await engine.verify('p', undefined, bearer(token))).subject).to.equal('user-1');
      });
    }
    it('refuses an unknown --alg with a usage error (exit 2)', async () => {
      const err: string[] = [];
      expect(await main(['keys', 'generate', '--alg', 'none'], { out: () => {}, err: (t) => err.push(t), env: {} })).to.equal(2);
      expect(err.join('\n')).to.include('--alg must be one of RS256, PS256, ES256, ES384, EdDSA, HS256, HS384, HS512');
    });
  });
});

