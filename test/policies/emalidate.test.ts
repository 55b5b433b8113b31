import { expect } from 'chai';
import { SignJWT } from 'jose';
import { tokenRequestFrom } from '../../core/request.js';
import { bootFixture, rejection, EMALIDATE_POLICY, type Harness } from '../helpers/boot.js';

const SECRET = 'policy-test-secret-of-good-length-0123456789';
const ENV = { EMALIDATE_SECRET: SECRET, EMALIDATE_KID: 'k-2026', EMALIDATE_USER_ID: 'user-42', EMALIDATE_ISSUER: 'shop.example' };
const anyone = tokenRequestFrom({}, '127.0.0.1');

describe('policies/emalidate.yaml', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await bootFixture({ policies: [EMALIDATE_POLICY], env: ENV });
  });
  afterEach(() => h.store.close());

  it('loads with its settings taken from the environment, without warnings', () => {
    const policy = h.engine.policy('emalidate');
    expect(policy.routes).to.deep.equal([{ path: '/emalidate/token', methods: ['POST'] }]);
    expect(policy.protectedRoutes).to.deep.equal([{ path: '/emalidate/demo', methods: ['GET'] }]);
    expect(policy.ttl.defaultMs).to.equal(300_000);
    expect(h.warnings).to.deep.equal([]);
  });

  describe('positive cases', () => {
    it('issues a 300-second token for the configured user and verifies it', async () => {
      const { token, record } = await h.engine.issue('emalidate', anyone);
      expect(record).to.include({ subject: 'user-42', expiresAt: record.issuedAt + 300_000 });
      const header = JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString()) as Record<string, unknown>;
      expect(header).to.deep.equal({ alg: 'HS256', typ: 'JWT', kid: 'k-2026' });
      expect((await h.engine.verify('emalidate', token, anyone)).subject).to.equal('user-42');
    });
    it('honours expires_in within the policy bounds', async () => {
      const { record } = await h.engine.issue('emalidate', tokenRequestFrom({ expires_in: '7200' }, '127.0.0.1'));
      expect(record.expiresAt - record.issuedAt).to.equal(3_600_000);
    });
    it('accepts a token the vendor’s way (kid only in the payload) signed with the secret', async () => {
      const now = Math.floor(h.clock.now() / 1000);
      const token = await new SignJWT({ iss: 'shop.example', sub: 'user-42', iat: now, exp: now + 300, jti: 'abc', kid: 'k-2026' })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .sign(new TextEncoder().encode(SECRET));
      expect((await h.engine.verify('emalidate', token, anyone)).tokenId).to.equal('abc');
    });
  });

  describe('negative cases', () => {
    it('refuses an expired token once the tolerance has passed', async () => {
      const { token } = await h.engine.issue('emalidate', anyone);
      h.clock.advance(300_000 + 14_000);
      expect((await h.engine.verify('emalidate', token, anyone)).subject).to.equal('user-42');
      h.clock.advance(1_000);
      expect((await rejection(() => h.engine.verify('emalidate', token, anyone))).code).to.equal('ERR_TOKEN_EXPIRED');
    });
    it('refuses a token of another issuer', async () => {
      const now = Math.floor(h.clock.now() / 1000);
      const token = await new SignJWT({ iss: 'evil.example', sub: 'user-42', iat: now, exp: now + 300, jti: 'x' })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: 'k-2026' })
        .sign(new TextEncoder().encode(SECRET));
      const err = await rejection(() => h.engine.verify('emalidate', token, anyone));
      expect(err.code).to.equal('ERR_TOKEN_CLAIM_INVALID');
    });
    it('refuses alg none', async () => {
      const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const now = Math.floor(h.clock.now() / 1000);
      const token = `${part({ alg: 'none', typ: 'JWT' })}.${part({ iss: 'shop.example', sub: 'user-42', iat: now, exp: now + 300, jti: 'n' })}.`;
      expect((await rejection(() => h.engine.verify('emalidate', token, anyone))).code).to.equal('ERR_TOKEN_ALG_NOT_ALLOWED');
    });
  });
});
