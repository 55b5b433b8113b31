import { expect } from 'chai';
import { writeFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tokenRequestFrom } from '../../core/request.js';
import { LockoutGuard } from '../../plugins/guards/lockout/index.js';
import { sha256 } from '../../core/digest.js';
import type { MemoryStore } from '../../plugins/stores/memory/index.js';
import { bootFixture, rejection, FIXTURE_POLICY, type Harness } from '../helpers/boot.js';

const ALICE = { client_id: 'alice', client_secret: 'alice-secret-0001' };
const req = (params: Record<string, string>, ip = '10.1.1.1') => tokenRequestFrom(params, ip);

/** A variant of the fixture policy with one line replaced, in a temp dir. */
function variant(from: string, to: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ts-policy-'));
  const text = readFileSync(FIXTURE_POLICY, 'utf8');
  if (!text.includes(from)) throw new Error(`fixture has no "${from}"`);
  const file = join(dir, 'fixture.yaml');
  writeFileSync(file, text.replace(from, to));
  return file;
}

describe('Engine', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await bootFixture();
  });
  afterEach(async () => {
    await h.store.close();
  });

  describe('.issue', () => {
    describe('having valid credentials', () => {
      it('mints an opaque token with the credential, subject, scopes and default TTL', async () => {
        const { token, record } = await h.engine.issue('fixture', req(ALICE));
        expect(token).to.match(/^FX-[0-9a-f]{32}$/);
        expect(record).to.include({ policyId: 'fixture', credentialId: 'alice', subject: 'user-alice', issuedAt: h.clock.now() });
        expect(record.scopes).to.deep.equal(['read', 'write']);
        expect(record.expiresAt - record.issuedAt).to.equal(5 * 60_000);
        expect(record).to.not.have.property('boundAddress');
      });

      it('matches parameter names case-insensitively when the policy says so', async () => {
        const { record } = await h.engine.issue('fixture', req({ CLIENT_ID: 'alice', Client_Secret: 'alice-secret-0001' }));
        expect(record.credentialId).to.equal('alice');
      });

      it('never stores the token itself, only its digest', async () => {
        const { token } = await h.engine.issue('fixture', req(ALICE));
        // The memory store keeps records apart from text (`get` never returns one): ask for records.
        const store = h.store as MemoryStore;
        expect(await store.getRecord(`fixture:token:${token}`)).to.equal(undefined);
        expect((await store.getRecord(`fixture:token:${sha256(token)}`))?.credentialId).to.equal('alice');
      });
    });

    describe('having a wrong secret or an unknown id', () => {
      it('refuses both alike with ERR_CREDENTIAL_INVALID', async () => {
        const wrong = await rejection(() => h.engine.issue('fixture', req({ client_id: 'alice', client_secret: 'nope' })));
        const unknown = await rejection(() => h.engine.issue('fixture', req({ client_id: 'mallory', client_secret: 'alice-secret-0001' })));
        const missing = await rejection(() => h.engine.issue('fixture', req({ client_id: 'alice' })));
        for (const err of [wrong, unknown, missing]) {
          expect(err.code).to.equal('ERR_CREDENTIAL_INVALID');
          expect(err.message).to.equal('invalid credential');
        }
      });
    });

    describe('TTL guard', () => {
      it('ignores the lifetime the caller asks on a route that supplies the credential (preset): the policy’s default', async () => {
        const { record } = await h.engine.issue('fixture', { ...req({ ...ALICE, ttl: '3600' }), preset: true });
        expect(record.expiresAt - record.issuedAt).to.equal(5 * 60_000);
      });
      it('clamps a requested TTL into [min, max] and uses the default otherwise', async () => {
        const ttl = async (seconds?: string) => {
          const { record } = await h.engine.issue('fixture', req(seconds === undefined ? ALICE : { ...ALICE, ttl: seconds }));
          return (record.expiresAt - record.issuedAt) / 1000;
        };
        expect(await ttl()).to.equal(300);
        expect(await ttl('10')).to.equal(60);
        expect(await ttl('600')).to.equal(600);
        expect(await ttl('999999')).to.equal(3600);
      });

      it('lets an opaque token expire with the injected clock', async () => {
        const { token } = await h.engine.issue('fixture', req({ ...ALICE, ttl: '60' }));
        h.clock.advance(59_999);
        expect((await h.engine.verify('fixture', token, req({}))).tokenId).to.be.a('string');
        h.clock.advance(1);
        expect((await rejection(() => h.engine.verify('fixture', token, req({})))).code).to.equal('ERR_TOKEN_UNKNOWN');
      });
    });

    describe('scopes guard', () => {
      it('grants the scopes asked for when the credential may have them', async () => {
        const { record } = await h.engine.issue('fixture', req({ ...ALICE, scope: 'read' }));
        expect(record.scopes).to.deep.equal(['read']);
      });
      it('refuses a scope the credential may not have with ERR_SCOPE_NOT_ALLOWED', async () => {
        const err = await rejection(() => h.engine.issue('fixture', req({ ...ALICE, scope: 'read,admin' })));
        expect(err.code).to.equal('ERR_SCOPE_NOT_ALLOWED');
        expect(err.message).to.equal('not allowed for this credential: admin');
      });
    });

    describe('output guard', () => {
      it('refuses a format the policy does not allow before anything else', async () => {
        const err = await rejection(() => h.engine.issue('fixture', req({ ...ALICE, format: 'xml' })));
        expect(err.code).to.equal('ERR_FORMAT_NOT_ALLOWED');
        expect(err.message).to.equal('reply format "xml" is not allowed; use one of: json, text');
      });
      it('renders with the encoder the request chose, and the default otherwise', async () => {
        const issued = await h.engine.issue('fixture', req(ALICE));
        const outcome = { ok: true as const, ...issued };
        expect(h.engine.reply('fixture', outcome, req({ format: 'TEXT' })).body).to.equal(`OK ${issued.token}`);
        const json = h.engine.reply('fixture', outcome, req({}));
        expect(json.contentType).to.equal('application/json');
        expect(JSON.parse(json.body)).to.deep.equal({ token: issued.token, expires_in: 300 });
      });
    });

    describe('IP-binding guard', () => {
      it('mode param: binds the address the caller names, and only that address verifies', async () => {
        const { token, record } = await h.engine.issue('fixture', req({ ...ALICE, IP: '::ffff:192.0.2.7' }));
        expect(record.boundAddress).to.equal('192.0.2.7');
        expect((await h.engine.verify('fixture', token, req({}, '192.0.2.7'))).boundAddress).to.equal('192.0.2.7');
        const err = await rejection(() => h.engine.verify('fixture', token, req({}, '192.0.2.8')));
        expect(err.code).to.equal('ERR_TOKEN_IP_MISMATCH');
      });
      it('verifies a bound token from every spelling of its address (normalised at verify time too)', async () => {
        const v4 = (await h.engine.issue('fixture', req({ ...ALICE, IP: '192.0.2.7' }))).token;
        for (const caller of ['192.0.2.7', '::ffff:192.0.2.7', '::FFFF:192.0.2.7', '::ffff:c000:207', '[::ffff:192.0.2.7]']) {
          expect((await h.engine.verify('fixture', v4, req({}, caller))).boundAddress, caller).to.equal('192.0.2.7');
        }
        const v6 = (await h.engine.issue('fixture', req({ ...ALICE, IP: '2001:DB8:0:0:0:0:0:1' }))).token;
        for (const caller of ['2001:db8::1', '2001:DB8::1', '2001:0db8:0000:0000:0000:0000:0000:0001', '[2001:db8::1]']) {
          expect((await h.engine.verify('fixture', v6, req({}, caller))).boundAddress, caller).to.equal('2001:db8::1');
        }
        for (const caller of ['::ffff:192.0.2.8', '192.0.2.70', '2001:db8::2', '::1']) {
          expect((await rejection(() => h.engine.verify('fixture', v4, req({}, caller)))).code, caller).to.equal('ERR_TOKEN_IP_MISMATCH');
        }
      });
      it('mode param: refuses an address that is not one with ERR_IP_BINDING', async () => {
        const err = await rejection(() => h.engine.issue('fixture', req({ ...ALICE, IP: '999.1.1.1' })));
        expect(err.code).to.equal('ERR_IP_BINDING');
        expect(err.message).to.equal('parameter IP is not an IP address');
      });
      it('mode caller: binds the caller’s own address', async () => {
        await h.store.close();
        h = await bootFixture({ policies: [variant('ipBinding: { mode: param, param: IP }', 'ipBinding: caller')] });
        const { token, record } = await h.engine.issue('fixture', req({ ...ALICE, IP: '192.0.2.9' }, '2001:DB8::1'));
        expect(record.boundAddress).to.equal('2001:db8::1');
        expect((await rejection(() => h.engine.verify('fixture', token, req({}, '192.0.2.9')))).code).to.equal('ERR_TOKEN_IP_MISMATCH');
      });
      it('mode required: refuses to issue without an address', async () => {
        await h.store.close();
        h = await bootFixture({ policies: [variant('ipBinding: { mode: param, param: IP }', 'ipBinding: required')] });
        const err = await rejection(() => h.engine.issue('fixture', req(ALICE)));
        expect(err.code).to.equal('ERR_IP_BINDING');
        expect(err.message).to.equal('parameter IP (the address to bind the token to) is required');
      });
      it('mode off: never binds', async () => {
        await h.store.close();
        h = await bootFixture({ policies: [variant('ipBinding: { mode: param, param: IP }', 'ipBinding: off')] });
        const { record } = await h.engine.issue('fixture', req({ ...ALICE, IP: '192.0.2.9' }));
        expect(record).to.not.have.property('boundAddress');
      });
    });
  });

  describe('lockout guard', () => {
    const wrong = { client_id: 'alice', client_secret: 'wrong' };

    it('locks after exactly threshold failures, also for the correct secret, until the duration passes', async () => {
      for (let i = 0; i < 5; i++) {
        expect((await rejection(() => h.engine.issue('fixture', req(wrong)))).code).to.equal('ERR_CREDENTIAL_INVALID');
      }
      const locked = await rejection(() => h.engine.issue('fixture', req(ALICE)));
      expect(locked.code).to.equal('ERR_LOCKED_OUT');
      expect(locked.message).to.equal('too many failed attempts: locked for 15m more (of 15m)');
      expect((locked as unknown as { retryAfterMs: number }).retryAfterMs).to.equal(900_000);
      h.clock.advance(15 * 60_000 - 1);
      expect((await rejection(() => h.engine.issue('fixture', req(ALICE)))).code).to.equal('ERR_LOCKED_OUT');
      h.clock.advance(1);
      expect((await h.engine.issue('fixture', req(ALICE))).record.credentialId).to.equal('alice');
    });

    it('refuses a locked credential before comparing its secret, so failures during the lock are not counted', async () => {
      for (let i = 0; i < 5; i++) await rejection(() => h.engine.issue('fixture', req(wrong)));
      const [key] = new LockoutGuard(h.store).keys(h.engine.policy('fixture'), { credentialId: 'alice', address: '10.1.1.1' });
      for (let i = 0; i < 20; i++) {
        expect((await rejection(() => h.engine.issue('fixture', req(wrong)))).code).to.equal('ERR_LOCKED_OUT');
      }
      expect(await h.store.get(key as string)).to.equal('5');
      h.clock.advance(15 * 60_000);
      // The lock ended with its counter: one failure now does not re-lock.
      expect((await rejection(() => h.engine.issue('fixture', req(wrong)))).code).to.equal('ERR_CREDENTIAL_INVALID');
      expect((await h.engine.issue('fixture', req(ALICE))).record.credentialId).to.equal('alice');
    });

    it('starts counting afresh when a lock ends, even inside a longer window', async () => {
      await h.store.close();
      h = await bootFixture({ policies: [variant('window: 15m', 'window: 1h')] });
      for (let i = 0; i < 5; i++) await rejection(() => h.engine.issue('fixture', req(wrong)));
      h.clock.advance(15 * 60_000);
      for (let i = 0; i < 4; i++) {
        expect((await rejection(() => h.engine.issue('fixture', req(wrong)))).code).to.equal('ERR_CREDENTIAL_INVALID');
      }
      expect((await rejection(() => h.engine.issue('fixture', req(wrong)))).code).to.equal('ERR_CREDENTIAL_INVALID');
      expect((await rejection(() => h.engine.issue('fixture', req(ALICE)))).code).to.equal('ERR_LOCKED_OUT');
    });

    it('resets the count on success', async () => {
      for (let i = 0; i < 4; i++) await rejection(() => h.engine.issue('fixture', req(wrong)));
      await h.engine.issue('fixture', req(ALICE));
      for (let i = 0; i < 4; i++) {
        expect((await rejection(() => h.engine.issue('fixture', req(wrong)))).code).to.equal('ERR_CREDENTIAL_INVALID');
      }
      expect((await h.engine.issue('fixture', req(ALICE))).record.credentialId).to.equal('alice');
    });

    describe('having a success after failures (what a success may reset)', () => {
      const preset = (params: Record<string, string>, ip = '10.1.1.1') => ({ ...req(params, ip), preset: true });

      it('resets nothing when the route supplied the credential (preset): the caller proved nothing', async () => {
        for (let i = 0; i < 4; i++) await rejection(() => h.engine.issue('fixture', req(wrong)));
        expect((await h.engine.issue('fixture', preset(ALICE))).record.credentialId).to.equal('alice');
        expect((await rejection(() => h.engine.issue('fixture', req(wrong)))).code).to.equal('ERR_CREDENTIAL_INVALID');
        expect((await rejection(() => h.engine.issue('fixture', req(ALICE)))).code).to.equal('ERR_LOCKED_OUT');
      });

      it('never resets an address’s count: a valid credential does not clear guesses at others from the same address', async () => {
        await h.store.close();
        h = await bootFixture({ policies: [variant('per: [credential]', 'per: [credential, address]')] });
        // A new id each guess: only the address's count can stop them.
        const guess = (i: number) => req({ client_id: `guess-${i}`, client_secret: 'wrong' }, '10.9.9.9');
        let failures = 0;
        for (let round = 0; round < 5; round++) {
          for (let i = 0; i < 2; i++) {
            const err = await rejection(() => h.engine.issue('fixture', guess(2 * round + i)));
            if (err.code === 'ERR_CREDENTIAL_INVALID') failures++;
          }
          // alice is the caller's own credential: it proves alice, not bob's guesses.
          await h.engine.issue('fixture', req(ALICE, '10.9.9.9')).catch(() => undefined);
        }
        expect(failures).to.equal(5);
        expect((await rejection(() => h.engine.issue('fixture', req(ALICE, '10.9.9.9')))).code).to.equal('ERR_LOCKED_OUT');
        expect((await h.engine.issue('fixture', req(ALICE, '10.9.9.10'))).record.credentialId).to.equal('alice');
      });

      it('resets the count of the credential it proved, and only that one', async () => {
        for (let i = 0; i < 4; i++) await rejection(() => h.engine.issue('fixture', req({ client_id: 'bob', client_secret: 'wrong' })));
        for (let i = 0; i < 4; i++) await rejection(() => h.engine.issue('fixture', req(wrong)));
        await h.engine.issue('fixture', req(ALICE));
        expect((await rejection(() => h.engine.issue('fixture', req({ client_id: 'bob', client_secret: 'wrong' })))).code).to.equal('ERR_CREDENTIAL_INVALID');
        expect((await rejection(() => h.engine.issue('fixture', req({ client_id: 'bob', client_secret: 'bob-secret-0002' })))).code).to.equal(
          'ERR_LOCKED_OUT',
        );
        for (let i = 0; i < 4; i++) expect((await rejection(() => h.engine.issue('fixture', req(wrong)))).code).to.equal('ERR_CREDENTIAL_INVALID');
      });
    });

    it('counts per credential: another credential is not locked', async () => {
      for (let i = 0; i < 5; i++) await rejection(() => h.engine.issue('fixture', req(wrong)));
      const bob = await h.engine.issue('fixture', req({ client_id: 'bob', client_secret: 'bob-secret-0002' }));
      expect(bob.record.credentialId).to.equal('bob');
    });

    it('counts exactly threshold failures under 100 concurrent wrong attempts', async () => {
      const results = await Promise.allSettled(Array.from({ length: 100 }, () => h.engine.issue('fixture', req(wrong))));
      const codes = results.map((r) => (r.status === 'rejected' ? (r.reason as { code: string }).code : 'issued'));
      expect(codes.filter((c) => c === 'ERR_CREDENTIAL_INVALID')).to.have.length(5);
      expect(codes.filter((c) => c === 'ERR_LOCKED_OUT')).to.have.length(95);
    });

    it('counts an IPv6 caller per /64: a new address from the same /64 is still locked', async () => {
      await h.store.close();
      h = await bootFixture({ policies: [variant('per: [credential]', 'per: [address]')] });
      for (let i = 1; i <= 5; i++) await rejection(() => h.engine.issue('fixture', req({ client_id: `x${i}`, client_secret: 'w' }, `2001:db8:7:7::${i}`)));
      expect((await rejection(() => h.engine.issue('fixture', req(ALICE, '2001:db8:7:7:ffff::9')))).code).to.equal('ERR_LOCKED_OUT');
      expect((await h.engine.issue('fixture', req(ALICE, '2001:db8:7:8::1'))).record.credentialId).to.equal('alice');
    });

    it('counts per address when the policy says so', async () => {
      await h.store.close();
      h = await bootFixture({ policies: [variant('per: [credential]', 'per: [address]')] });
      for (let i = 0; i < 5; i++) await rejection(() => h.engine.issue('fixture', req({ client_id: `x${i}`, client_secret: 'w' }, '10.9.9.9')));
      expect((await rejection(() => h.engine.issue('fixture', req(ALICE, '10.9.9.9')))).code).to.equal('ERR_LOCKED_OUT');
      expect((await h.engine.issue('fixture', req(ALICE, '10.9.9.10'))).record.credentialId).to.equal('alice');
    });
  });

  describe('.verify', () => {
    it('refuses a token of another credential with ERR_TOKEN_CREDENTIAL_MISMATCH', async () => {
      const { token } = await h.engine.issue('fixture', req(ALICE));
      const err = await rejection(() => h.engine.verify('fixture', token, req({ client_id: 'bob' })));
      expect(err.code).to.equal('ERR_TOKEN_CREDENTIAL_MISMATCH');
      expect((await h.engine.verify('fixture', token, req({ client_id: 'alice' }))).credentialId).to.equal('alice');
    });
    it('refuses a token lacking a scope the request needs with ERR_TOKEN_SCOPE', async () => {
      const { token } = await h.engine.issue('fixture', req({ ...ALICE, scope: 'read' }));
      const err = await rejection(() => h.engine.verify('fixture', token, req({ need: 'write' })));
      expect(err.code).to.equal('ERR_TOKEN_SCOPE');
      expect(err.message).to.equal('the token does not carry scope write');
    });
    it('refuses no token with ERR_TOKEN_MISSING and an unknown one with ERR_TOKEN_UNKNOWN', async () => {
      expect((await rejection(() => h.engine.verify('fixture', undefined, req({})))).code).to.equal('ERR_TOKEN_MISSING');
      expect((await rejection(() => h.engine.verify('fixture', 'FX-nope', req({})))).code).to.equal('ERR_TOKEN_UNKNOWN');
    });
    it('takes the token where the style says callers put it', async () => {
      const { token } = await h.engine.issue('fixture', req(ALICE));
      expect((await h.engine.verify('fixture', undefined, req({ token }))).credentialId).to.equal('alice');
    });
    it('refuses an unknown policy id with ERR_POLICY_UNKNOWN', async () => {
      const err = await rejection(() => h.engine.verify('nope', 'x', req({})));
      expect(err.code).to.equal('ERR_POLICY_UNKNOWN');
    });
    describe('having reuse: false', () => {
      it('lets an opaque token verify once, then refuses it with ERR_TOKEN_REUSED', async () => {
        await h.store.close();
        h = await bootFixture({ policies: [variant('output:', 'reuse: false\noutput:')] });
        const { token } = await h.engine.issue('fixture', req(ALICE));
        const results = await Promise.allSettled(Array.from({ length: 20 }, () => h.engine.verify('fixture', token, req({}))));
        expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
        const codes = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { code: string }).code] : []));
        expect(codes).to.have.length(19);
        // Racing callers saw the record before it was consumed (REUSED) or after (UNKNOWN).
        expect(codes.filter((c) => c !== 'ERR_TOKEN_REUSED' && c !== 'ERR_TOKEN_UNKNOWN')).to.deep.equal([]);
        expect((await rejection(() => h.engine.verify('fixture', token, req({})))).code).to.equal('ERR_TOKEN_UNKNOWN');
      });
    });
  });

  describe('.revoke and .introspect', () => {
    it('introspects an opaque token in RFC 7662 shape without using it up', async () => {
      const { token, record } = await h.engine.issue('fixture', req({ ...ALICE, IP: '192.0.2.1' }));
      expect(await h.engine.introspect(token)).to.deep.equal({
        active: true, policy: 'fixture', token_type: 'fixture', jti: record.tokenId,
        iat: Math.floor(record.issuedAt / 1000), exp: Math.floor(record.expiresAt / 1000),
        scope: 'read write', sub: 'user-alice', client_id: 'alice', bound_ip: '192.0.2.1',
      });
    });
    it('revokes an opaque token: it no longer verifies or introspects', async () => {
      const { token } = await h.engine.issue('fixture', req(ALICE));
      expect(await h.engine.revoke(token)).to.equal(true);
      expect((await rejection(() => h.engine.verify('fixture', token, req({})))).code).to.equal('ERR_TOKEN_UNKNOWN');
      expect(await h.engine.introspect(token)).to.deep.equal({ active: false });
      expect(await h.engine.revoke(token)).to.equal(false);
    });
    it('revokes a self-contained token through the deny-list until it would expire', async () => {
      const { token } = await h.engine.issue('emalidate', req({}));
      expect((await h.engine.introspect(token, 'emalidate')).active).to.equal(true);
      expect(await h.engine.revoke(token, 'emalidate')).to.equal(true);
      const err = await rejection(() => h.engine.verify('emalidate', token, req({})));
      expect(err.code).to.equal('ERR_TOKEN_REVOKED');
      expect(await h.engine.introspect(token)).to.deep.equal({ active: false });
    });
    it('answers inactive for garbage', async () => {
      expect(await h.engine.introspect('not a token')).to.deep.equal({ active: false });
      expect(await h.engine.revoke('not a token')).to.equal(false);
    });
  });
});
