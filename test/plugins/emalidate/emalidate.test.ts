import 'reflect-metadata';
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { ManualClock } from '../../../core/clock.js';
import type { Policy } from '../../../core/policy/types.js';
import type { Grant, SelfContainedStyle, TokenRequest } from '../../../core/ports.js';
import { tokenRequestFrom } from '../../../core/request.js';
import emalidateModule, { EmalidateStyle, check, manifest } from '../../../plugins/emalidate/index.js';
import memoryModule from '../../../plugins/stores/memory/index.js';
import { assemble } from '../../../core/container.js';
import { rejection } from '../../helpers/boot.js';

const SECRET = 'emalidate-test-secret-phrase-0123456789';
const OTHER = 'another-secret-phrase-for-rotation-9876';

function policyWith(settings: Record<string, unknown>): Policy {
  return Object.freeze({
    id: 'em', style: 'emalidate', source: '/x/em.yaml', caseInsensitiveParams: false, caseInsensitivePaths: false, logParams: [], routes: [], protectedRoutes: [],
    ttl: { defaultMs: 300_000, minMs: 1_000, maxMs: 3_600_000 }, ipBinding: { mode: 'off', param: 'IP' },
    output: { default: 'json', allowed: ['json'] }, reuse: true,
    settings: { issuer: 'emalidate.com', subject: 'user-1', keys: [{ kid: 'k1', secret: SECRET }], ...settings }, rules: {},
  }) as Policy;
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>;
const hmac = (alg: string, secret: string, input: string) =>
  createHmac(alg, secret).update(input).digest('base64url');
/** A JWT made by hand, to build tokens jose would refuse to make. */
function handmade(header: object, payload: object, secret = SECRET, alg = 'sha256'): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${hmac(alg, secret, input)}`;
}

describe('plugins/emalidate EmalidateStyle', () => {
  let clock: ManualClock;
  let style: SelfContainedStyle;
  const request: TokenRequest = tokenRequestFrom({}, '127.0.0.1');
  const grant = (over: Partial<Grant> = {}): Grant => ({
    policy: policyWith({}), scopes: [], issuedAt: clock.now(), expiresAt: clock.now() + 300_000, tokenId: 'jti-1', ...over,
  });
  const claims = (over: Record<string, unknown> = {}) => {
    const now = Math.floor(clock.now() / 1000);
    return { iss: 'emalidate.com', sub: 'user-1', iat: now, exp: now + 300, jti: 'j', kid: 'k1', ...over };
  };

  beforeEach(async () => {
    clock = new ManualClock(Date.now());
    style = (await new EmalidateStyle().create(policyWith({}), { clock })) as SelfContainedStyle;
  });

  describe('.mint', () => {
    it('makes an HS256 JWT with kid in the header and the payload', async () => {
      const { token, claims: payload } = await style.mint(grant());
      const [header, body] = token.split('.') as [string, string];
      expect(decode(header)).to.deep.equal({ alg: 'HS256', typ: 'JWT', kid: 'k1' });
      const now = Math.floor(clock.now() / 1000);
      expect(decode(body)).to.deep.equal({ iss: 'emalidate.com', sub: 'user-1', iat: now, exp: now + 300, jti: 'jti-1', kid: 'k1' });
      expect(payload).to.deep.equal(decode(body));
    });
    it('adds cip and scope when the grant binds an address or carries scopes', async () => {
      const { token } = await style.mint(grant({ boundAddress: '192.0.2.1', scopes: ['a', 'b'] }));
      expect(decode(token.split('.')[1] as string)).to.include({ cip: '192.0.2.1', scope: 'a b' });
      const record = await style.open(token, request);
      expect(record.boundAddress).to.equal('192.0.2.1');
      expect(record.scopes).to.deep.equal(['a', 'b']);
    });
    it('verifies in an independent implementation (jsonwebtoken)', async () => {
      const { token } = await style.mint(grant());
      const verified = jwt.verify(token, SECRET, { algorithms: ['HS256'], issuer: 'emalidate.com' }) as Record<string, unknown>;
      expect(verified).to.include({ sub: 'user-1', jti: 'jti-1', kid: 'k1' });
    });
  });

  describe('.open', () => {
    it('round-trips a minted token into its record', async () => {
      const { token } = await style.mint(grant());
      const record = await style.open(token, request);
      expect(record).to.deep.include({ tokenId: 'jti-1', policyId: 'em', subject: 'user-1', scopes: [] });
      expect(record.expiresAt).to.equal(Math.floor(clock.now() / 1000) * 1000 + 300_000);
    });

    it('accepts a token made by the vendor’s Python 3 generateToken sample', async () => {
      const token = execFileSync('python3', ['test/fixtures/emalidate/generate_token.py', 'user-1', SECRET, 'k1'], { encoding: 'utf8' }).trim();
      expect(decode(token.split('.')[0] as string)).to.deep.equal({ alg: 'HS256', typ: 'JWT' });
      const record = await style.open(token, request);
      expect(record.subject).to.equal('user-1');
      expect(record.tokenId).to.match(/^[0-9a-f]{32}$/);
    });

    describe('having a token it must refuse', () => {
      const cases: [string, () => string, string][] = [
        ['alg none', () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`, 'ERR_TOKEN_ALG_NOT_ALLOWED'],
        ['HS512 signed with the same secret', () => handmade({ alg: 'HS512', typ: 'JWT', kid: 'k1' }, claims(), SECRET, 'sha512'), 'ERR_TOKEN_ALG_NOT_ALLOWED'],
        ['RS256 claimed', () => handmade({ alg: 'RS256', typ: 'JWT', kid: 'k1' }, claims()), 'ERR_TOKEN_ALG_NOT_ALLOWED'],
        ['an unknown kid', () => handmade({ alg: 'HS256', typ: 'JWT', kid: 'k9' }, claims()), 'ERR_TOKEN_KID_UNKNOWN'],
        ['the wrong secret', () => handmade({ alg: 'HS256', typ: 'JWT', kid: 'k1' }, claims(), OTHER), 'ERR_TOKEN_SIGNATURE'],
        ['another issuer', () => handmade({ alg: 'HS256', typ: 'JWT', kid: 'k1' }, claims({ iss: 'evil.example' })), 'ERR_TOKEN_CLAIM_INVALID'],
        ['no jti', () => handmade({ alg: 'HS256', typ: 'JWT', kid: 'k1' }, claims({ jti: undefined })), 'ERR_TOKEN_CLAIM_INVALID'],
        ['nbf in the future', () => handmade({ alg: 'HS256', typ: 'JWT', kid: 'k1' }, claims({ nbf: Math.floor(clock.now() / 1000) + 60 })), 'ERR_TOKEN_CLAIM_INVALID'],
        ['an empty string', () => '', 'ERR_TOKEN_MALFORMED'],
        ['two parts', () => 'a.b', 'ERR_TOKEN_MALFORMED'],
        ['random base64', () => Buffer.from('hello world, not a token').toString('base64'), 'ERR_TOKEN_MALFORMED'],
        ['a header that is not JSON', () => `${Buffer.from('{nope').toString('base64url')}.${b64(claims())}.sig`, 'ERR_TOKEN_MALFORMED'],
        // Header and claim fields of the wrong type: refused with their code, never a TypeError.
        ...[1, {}, null, true, ['k1']].map((kid): [string, () => string, string] =>
          [`a header kid ${JSON.stringify(kid)}`, () => handmade({ alg: 'HS256', typ: 'JWT', kid }, claims()), 'ERR_TOKEN_KID_UNKNOWN']),
        ['a payload kid 1 and no header kid', () => handmade({ alg: 'HS256', typ: 'JWT' }, claims({ kid: 1 })), 'ERR_TOKEN_KID_UNKNOWN'],
        ['an alg ["HS256"]', () => handmade({ alg: ['HS256'], typ: 'JWT', kid: 'k1' }, claims()), 'ERR_TOKEN_ALG_NOT_ALLOWED'],
        ['an alg null', () => handmade({ alg: null, typ: 'JWT', kid: 'k1' }, claims()), 'ERR_TOKEN_ALG_NOT_ALLOWED'],
        ['a crit that is not a list', () => handmade({ alg: 'HS256', typ: 'JWT', kid: 'k1', crit: 'x' }, claims()), 'ERR_TOKEN_MALFORMED'],
        ['an iat that is text', () => handmade({ alg: 'HS256', typ: 'JWT', kid: 'k1' }, claims({ iat: '0' })), 'ERR_TOKEN_CLAIM_INVALID'],
        ['an exp that is an object', () => handmade({ alg: 'HS256', typ: 'JWT', kid: 'k1' }, claims({ exp: {} })), 'ERR_TOKEN_CLAIM_INVALID'],
        ['a jti that is a number', () => handmade({ alg: 'HS256', typ: 'JWT', kid: 'k1' }, claims({ jti: 5 })), 'ERR_TOKEN_CLAIM_INVALID'],
        ['an empty jti', () => handmade({ alg: 'HS256', typ: 'JWT', kid: 'k1' }, claims({ jti: '' })), 'ERR_TOKEN_CLAIM_INVALID'],
        ['a sub that is an object', () => handmade({ alg: 'HS256', typ: 'JWT', kid: 'k1' }, claims({ sub: { id: 1 } })), 'ERR_TOKEN_CLAIM_INVALID'],
        ['a scope that is a list', () => handmade({ alg: 'HS256', typ: 'JWT', kid: 'k1' }, claims({ scope: ['a'] })), 'ERR_TOKEN_CLAIM_INVALID'],
        ['a cip that is a number (a binding must not be dropped)', () => handmade({ alg: 'HS256', typ: 'JWT', kid: 'k1' }, claims({ cip: 3232235777 })), 'ERR_TOKEN_CLAIM_INVALID'],
      ];
      for (const [what, make, code] of cases) {
        it(`refuses ${what} with ${code}`, async () => {
          const err = await rejection(() => style.open(make(), request));
          expect(err.code).to.equal(code);
          expect(err.message).to.not.include(SECRET);
        });
      }

      it('refuses a tampered payload with ERR_TOKEN_SIGNATURE', async () => {
        const { token } = await style.mint(grant());
        const [h, , s] = token.split('.') as [string, string, string];
        const err = await rejection(() => style.open(`${h}.${b64({ ...claims(), sub: 'admin', jti: 'jti-1' })}.${s}`, request));
        expect(err.code).to.equal('ERR_TOKEN_SIGNATURE');
      });
      it('refuses a header changed to HS384 without re-signing', async () => {
        style = (await new EmalidateStyle().create(policyWith({ algorithms: ['HS256', 'HS384'] }), { clock })) as SelfContainedStyle;
        const { token } = await style.mint(grant());
        const [, p, s] = token.split('.') as [string, string, string];
        const err = await rejection(() => style.open(`${b64({ alg: 'HS384', typ: 'JWT', kid: 'k1' })}.${p}.${s}`, request));
        expect(err.code).to.equal('ERR_TOKEN_SIGNATURE');
      });
      it('refuses an expired token beyond the clock tolerance, and accepts it within', async () => {
        const { token } = await style.mint(grant());
        clock.advance(300_000 + 14_000);
        expect((await style.open(token, request)).tokenId).to.equal('jti-1');
        clock.advance(2_000);
        const err = await rejection(() => style.open(token, request));
        expect(err.code).to.equal('ERR_TOKEN_EXPIRED');
        expect(err.message).to.equal('the token has expired');
      });
    });

    describe('having times no policy of ours would grant', () => {
      const signed = (over: Record<string, unknown>) => handmade({ alg: 'HS256', typ: 'JWT', kid: 'k1' }, claims(over));
      const now = () => Math.floor(clock.now() / 1000);
      it('refuses an iat more than the clock tolerance (15 s) in the future, and accepts one within it', async () => {
        expect((await style.open(signed({ iat: now() + 15 }), request)).subject).to.equal('user-1');
        const err = await rejection(() => style.open(signed({ iat: now() + 16, exp: now() + 316 }), request));
        expect(err.code).to.equal('ERR_TOKEN_CLAIM_INVALID');
        expect(err).to.include({ claim: 'iat' });
      });
      it('refuses an exp further from iat than the policy’s ttl.max (1 h), and accepts one exactly at it', async () => {
        expect((await style.open(signed({ exp: now() + 3600 }), request)).subject).to.equal('user-1');
        for (const exp of [now() + 3601, now() + 10 * 365 * 86_400, 1e300]) {
          const err = await rejection(() => style.open(signed({ exp }), request));
          expect(err.code, String(exp)).to.equal('ERR_TOKEN_CLAIM_INVALID');
          expect(err.message).to.equal('claim exp is further from iat than the policy\'s ttl.max');
          expect(err).to.include({ claim: 'exp', reason: 'lifetime' });
        }
      });
      it('refuses a token older than ttl.max from its iat, whatever its exp says', async () => {
        const err = await rejection(() => style.open(signed({ iat: now() - 3700, exp: now() + 60 }), request));
        expect(err.code).to.equal('ERR_TOKEN_EXPIRED');
        expect(err).to.include({ claim: 'iat' });
      });
    });

    describe('having a signature in a non-canonical base64url encoding of the same bytes', () => {
      const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      /** The same signature bytes, written another way that lenient decoders accept. */
      const variants = (token: string): [string, string][] => {
        const cut = token.lastIndexOf('.');
        const [input, sig] = [token.slice(0, cut), token.slice(cut + 1)];
        const last = ALPHABET.indexOf(sig.at(-1) as string);
        // HS256: 32 bytes in 43 characters; the last character's two low bits carry nothing.
        const unused = [1, 2, 3].map((bits) => `${input}.${sig.slice(0, -1)}${ALPHABET[last ^ bits]}`);
        return [
          ['a trailing =', `${input}.${sig}=`],
          ...unused.map((t, i): [string, string] => [`unused bits ${i + 1} in the last character`, t]),
          ['a space inside', `${input}.${sig.slice(0, 10)} ${sig.slice(10)}`],
        ];
      };
      it('gives the same bytes (so a lenient decoder would verify it)', async () => {
        const { token } = await style.mint(grant());
        const bytes = Buffer.from(token.split('.')[2] as string, 'base64url');
        for (const [what, variant] of variants(token)) {
          expect(Buffer.from(variant.split('.')[2] as string, 'base64url').equals(bytes), what).to.equal(true);
        }
      });
      it('refuses every such variant with ERR_TOKEN_SIGNATURE', async () => {
        const { token } = await style.mint(grant());
        expect((await style.open(token, request)).tokenId).to.equal('jti-1');
        for (const [what, variant] of variants(token)) {
          const err = await rejection(() => style.open(variant, request));
          expect(err.code, what).to.equal('ERR_TOKEN_SIGNATURE');
          expect(err.message, what).to.equal('the signature is not canonical base64url');
        }
      });
    });

    describe('having two keys (rotation)', () => {
      it('signs with the first and verifies with either', async () => {
        const rotated = policyWith({ keys: [{ kid: 'k2', secret: OTHER }, { kid: 'k1', secret: SECRET }] });
        const two = (await new EmalidateStyle().create(rotated, { clock })) as SelfContainedStyle;
        const fresh = await two.mint({ ...grant(), policy: rotated });
        expect(decode(fresh.token.split('.')[0] as string)['kid']).to.equal('k2');
        const old = await style.mint(grant());
        expect((await two.open(old.token, request)).tokenId).to.equal('jti-1');
        expect((await two.open(fresh.token, request)).tokenId).to.equal('jti-1');
        const noKid = handmade({ alg: 'HS256', typ: 'JWT' }, claims({ kid: undefined }));
        expect((await rejection(() => two.open(noKid, request))).code).to.equal('ERR_TOKEN_KID_UNKNOWN');
      });
    });
  });

  describe('.readGrant', () => {
    it('reads client_id, client_secret and expires_in', () => {
      expect(style.readGrant(tokenRequestFrom({ client_id: 'a', client_secret: 'b', expires_in: '60' }, '::1'))).to.deep.equal({
        credentialId: 'a', secret: 'b', ttlMs: 60_000,
      });
      expect(style.readGrant(request)).to.deep.equal({});
    });
    it('refuses an expires_in that is not whole seconds', async () => {
      const err = await rejection(async () => style.readGrant(tokenRequestFrom({ expires_in: '1e3' }, '::1')));
      expect(err.code).to.equal('ERR_REQUEST_INVALID');
      expect(err.message).to.equal('parameter expires_in must be a whole number of seconds');
    });
  });
});

describe('plugins/emalidate manifest', () => {
  it('checks key ids are unique and secrets long enough, without echoing secrets', () => {
    const issues = check({ issuer: 'x', keys: [{ kid: 'a', secret: 'short' }, { kid: 'a', secret: SECRET }] });
    expect(issues).to.deep.equal([
      { path: '/keys/0/secret', message: 'secret is too short: use at least 16 characters (32 or more recommended)' },
      { path: '/keys/1/kid', message: 'key id "a" is listed twice' },
    ]);
  });
  it('is the style a policy names emalidate, with its manifest in the registry', async () => {
    const { registry, store } = await assemble({ modules: [memoryModule, emalidateModule] });
    await store.close();
    expect(registry.style('emalidate')).to.be.instanceOf(EmalidateStyle);
    expect(registry.styles.get('emalidate')).to.deep.equal(manifest.styles?.[0]);
  });
});
