import { expect } from 'chai';
import { tokenRequestFrom } from '../../core/request.js';
import { bootFixture, rejection, type Harness } from '../helpers/boot.js';
import { seal, VECTOR_GENDT, VECTOR_TOKENS, XDOC_ENV, XDOC_POLICY, xst } from '../helpers/xdoc.js';

const anyone = tokenRequestFrom({}, '127.0.0.1');
const at = (params: Record<string, string>) => tokenRequestFrom(params, '127.0.0.1');
const receive = (extra: Record<string, string> = {}) => at({ XSC: 'MySecurityContext', ...extra });
const GOOD = { Context: 'MySecurityContext', AppId: 'MyAppId', AppKey: 'MyAppKey', GenDT: '2023-03-08T22:15:53Z' };
const tokens = VECTOR_TOKENS.base64 as Record<string, string>;

describe('policies/xdoc.yaml', () => {
  let h: Harness;
  const boot = async (env: Record<string, string> = XDOC_ENV) => {
    h = await bootFixture({ policies: [XDOC_POLICY], env });
    h.clock.set(VECTOR_GENDT + 10_000);
  };
  beforeEach(() => boot());
  afterEach(() => h.store.close());
  const code = async (token: string | undefined, request = receive()) => (await rejection(() => h.engine.verify('xdoc', token, request))).code;

  it('loads with its settings taken from the environment, without warnings', () => {
    const policy = h.engine.policy('xdoc');
    expect(policy.routes).to.deep.equal([{ path: '/xdoc/token', methods: ['POST'] }]);
    expect(policy.protectedRoutes).to.deep.equal([{ path: '/xdoc/demo', methods: ['GET', 'POST'], format: 'xws', echo: { XM: 'optional' } }]);
    expect(h.warnings).to.deep.equal([]);
  });

  it('warns about each demo default when the environment is empty', async () => {
    await h.store.close();
    await boot({});
    expect(h.warnings.map((w) => w.message.split(' ')[0])).to.deep.equal(['XDOC_CONTEXT', 'XDOC_APPKEY', 'XDOC_APPKEY', 'XDOC_INIT_VECTOR', 'XDOC_KEY_HEX']);
  });

  describe('positive cases', () => {
    it('mints an XST (AES-256-CBC, XML) and an XUT for the configured user; both verify with XSC', async () => {
      const { token, record } = await h.engine.issue('xdoc', anyone);
      // The record describes the XST (the user is in the XUT); it lives maxAge + clockSkew.
      expect(record).to.include({ subject: 'tokensmith-demo', expiresAt: record.issuedAt + 330_000 });
      const xut = record.claims?.['XUT'] as string;
      expect(record.claims).to.deep.include({ Context: 'MySecurityContext', AppId: 'tokensmith-demo', UserName: 'demo-user', Email: 'demo-user@example.com' });
      expect(record.claims).to.not.have.property('AppKey');
      const alone = await h.engine.verify('xdoc', token, receive());
      expect(alone).to.include({ tokenId: record.tokenId, subject: 'tokensmith-demo', issuedAt: VECTOR_GENDT + 10_000, expiresAt: record.expiresAt });
      const both = await h.engine.verify('xdoc', token, receive({ XUT: xut }));
      expect(both.subject).to.equal('demo-user');
      expect(both.claims).to.deep.include({ Display: 'Demo User', Email: 'demo-user@example.com' });
    });

    it('verifies the tokens openssl made: XML with the seed’s indentation and offset GenDT, JSON, form-url with compact GenDT', async () => {
      for (const name of ['xst-xml-offset', 'xst-json-utc', 'xst-form-compact']) {
        const record = await h.engine.verify('xdoc', tokens[name], receive());
        expect(record, name).to.include({ subject: 'MyAppId', issuedAt: VECTOR_GENDT, expiresAt: VECTOR_GENDT + 300_000 + 30_000 });
      }
      expect((await h.engine.verify('xdoc', tokens['xst-json-utc'], receive())).claims).to.deep.include({ Client: '192.0.2.7' });
    });

    it('reads the user from a separate XUT, or from the XST itself when only one token is sent (old <token> root)', async () => {
      const separate = await h.engine.verify('xdoc', tokens['xst-xml-offset'], receive({ XUT: tokens['xut-xml'] as string }));
      expect(separate.subject).to.equal('admin');
      expect(separate.claims).to.deep.include({ UserName: 'admin', Display: 'John Doe', Email: 'jd@example.com', ExtFlags: 5 });
      const combined = await h.engine.verify('xdoc', tokens['xst-xml-old-root-combined'], receive());
      expect(combined.subject).to.equal('admin');
    });

    it('accepts the URL-encoded form and + turned into a space, as the same token (same id)', async () => {
      const plain = tokens['xst-xml-offset'] as string;
      expect(plain).to.match(/\+/);
      const ids = [];
      for (const form of [plain, encodeURIComponent(plain), plain.replaceAll('+', ' ')]) ids.push((await h.engine.verify('xdoc', form, receive())).tokenId);
      expect(new Set(ids).size).to.equal(1);
    });

    it('allows the clock skew both ways: GenDT up to 30 s ahead, and 30 s past maxAge', async () => {
      h.clock.set(VECTOR_GENDT - 30_000);
      expect((await h.engine.verify('xdoc', tokens['xst-json-utc'], receive())).subject).to.equal('MyAppId');
      h.clock.set(VECTOR_GENDT + 330_000);
      expect((await h.engine.verify('xdoc', tokens['xst-json-utc'], receive())).subject).to.equal('MyAppId');
    });

    it('revokes by token id until the token would expire, and introspects without XSC', async () => {
      const token = tokens['xst-form-compact'] as string;
      expect(await h.engine.introspect(token, 'xdoc')).to.deep.include({ active: true, sub: 'MyAppId', token_type: 'xdoc', iat: VECTOR_GENDT / 1000 });
      expect(await h.engine.revoke(encodeURIComponent(token), 'xdoc')).to.equal(true);
      expect(await code(token)).to.equal('ERR_TOKEN_REVOKED');
    });
  });

  describe('negative cases', () => {
    it('refuses a Context other than XSC, and a request without XSC', async () => {
      expect(await code(tokens['xst-xml-offset'], receive({ XSC: 'OtherContext' }))).to.equal('ERR_TOKEN_CONTEXT_MISMATCH');
      const err = await rejection(() => h.engine.verify('xdoc', tokens['xst-xml-offset'], anyone));
      expect(err).to.include({ code: 'ERR_REQUEST_INVALID', message: 'parameter XSC (the security context) is required' });
    });

    it('refuses a token past maxAge + skew, and one made further ahead than the skew', async () => {
      h.clock.set(VECTOR_GENDT + 330_001);
      expect(await code(tokens['xst-json-utc'])).to.equal('ERR_TOKEN_EXPIRED');
      h.clock.set(VECTOR_GENDT - 30_001);
      const err = await rejection(() => h.engine.verify('xdoc', tokens['xst-json-utc'], receive()));
      expect(err).to.include({ code: 'ERR_TOKEN_CLAIM_INVALID', claim: 'GenDT', reason: 'future' });
    });

    it('refuses an AppKey the policy does not list', async () => {
      await h.store.close();
      await boot({ ...XDOC_ENV, XDOC_APPKEY: 'AnotherAppKey' });
      const err = await rejection(() => h.engine.verify('xdoc', tokens['xst-xml-offset'], receive()));
      expect(err).to.include({ code: 'ERR_TOKEN_CLAIM_INVALID', claim: 'AppKey', message: "claim AppKey is not one of the policy's app keys" });
    });

    it('refuses every token under another key as undecryptable', async () => {
      await h.store.close();
      await boot({ ...XDOC_ENV, XDOC_KEY_HEX: 'ff'.repeat(32) });
      for (const token of Object.values(tokens)) expect(await code(token)).to.equal('ERR_TOKEN_UNDECRYPTABLE');
    });

    it('refuses missing required fields, naming the field', async () => {
      const policy = h.engine.policy('xdoc');
      for (const field of ['Context', 'AppId', 'GenDT', 'AppKey']) {
        const rest = Object.fromEntries(Object.entries(GOOD).filter(([k]) => k !== field));
        const err = await rejection(() => h.engine.verify('xdoc', seal(policy, xst(rest)), receive()));
        expect(err, field).to.include({ code: 'ERR_TOKEN_CLAIM_INVALID', claim: field, reason: 'missing' });
      }
      const noEmail = seal(policy, xst({ UserName: 'u' }, 'UserToken'));
      const err = await rejection(() => h.engine.verify('xdoc', seal(policy, xst(GOOD)), receive({ XUT: noEmail })));
      expect(err).to.include({ code: 'ERR_TOKEN_CLAIM_INVALID', claim: 'Email' });
    });

    it('refuses a GenDT in no known shape, and ExtFlags that is not an integer', async () => {
      const policy = h.engine.policy('xdoc');
      const err = await rejection(() => h.engine.verify('xdoc', seal(policy, xst({ ...GOOD, GenDT: '08/03/2023 22:15' })), receive()));
      expect(err).to.include({ code: 'ERR_TOKEN_CLAIM_INVALID', claim: 'GenDT', reason: 'format' });
      const user = seal(policy, xst({ UserName: 'u', Email: 'e', ExtFlags: 'lots' }, 'UserToken'));
      const flags = await rejection(() => h.engine.verify('xdoc', seal(policy, xst(GOOD)), receive({ XUT: user })));
      expect(flags).to.include({ code: 'ERR_TOKEN_CLAIM_INVALID', claim: 'ExtFlags' });
    });

    it('refuses a bad XUT beside a good XST as undecryptable', async () => {
      expect(await code(tokens['xst-xml-offset'], receive({ XUT: 'AAAA' }))).to.equal('ERR_TOKEN_UNDECRYPTABLE');
    });

    it('refuses a token longer than the cap before decrypting it, and no token at all', async () => {
      expect(await code('A'.repeat(8192 + 4))).to.equal('ERR_TOKEN_UNDECRYPTABLE');
      expect(await code(undefined)).to.equal('ERR_TOKEN_MISSING');
    });
  });
});
