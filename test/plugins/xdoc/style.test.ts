import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../core/clock.js';
import { tokenRequestFrom } from '../../../core/request.js';
import { boot, type Booted } from '../../../server/bootstrap.js';
import { rejection, T0 } from '../../helpers/boot.js';
import { seal, xst } from '../../helpers/xdoc.js';
import { CryptoRandom } from '../../../core/random.js';
import { KeySet } from '../../../plugins/xdoc/cipher.js';
import { formatGenDt } from '../../../plugins/xdoc/gendt.js';

const dir = mkdtempSync(join(tmpdir(), 'ts-xdoc-'));
const KEY_A = '11'.repeat(32);
const KEY_B = '22'.repeat(32);
const keySet = (name: string, key: string, mode = 'GCM') =>
  `    - { name: ${name}, keySize: 256, mode: ${mode}, ${mode === 'CBC' ? 'padding: ISO10126, initVector: "@1B2c3D4", ' : ''}key: "${key}" }\n`;

/** Boots one inline xdoc policy on a manual clock. */
async function bootPolicy(body: string, head = ''): Promise<Booted & { clock: ManualClock }> {
  const file = join(dir, `p${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, `id: x\nstyle: xdoc\n${head}xdoc:\n  context: Ctx\n${body}`);
  const clock = new ManualClock(T0);
  return { ...(await boot({ policies: [file], store: 'memory', env: {}, clock })), clock };
}
const receive = (extra: Record<string, string> = {}, ip = '127.0.0.1') => tokenRequestFrom({ XSC: 'Ctx', ...extra }, ip);

describe('plugins/xdoc/style', () => {
  let h: Booted & { clock: ManualClock };
  afterEach(() => h.store.close());

  describe('having two key sets (rotation)', () => {
    it('encrypts with the first and decrypts with either', async () => {
      h = await bootPolicy(`  mint: { appId: A }\n  keys:\n${keySet('new', KEY_A)}${keySet('old', KEY_B, 'CBC')}`);
      const { token } = await h.engine.issue('x', receive());
      expect((await h.engine.verify('x', token, receive())).subject).to.equal('A');
      const old = await bootPolicy(`  mint: { appId: A }\n  keys:\n${keySet('old', KEY_B, 'CBC')}`);
      const fromOld = (await old.engine.issue('x', receive())).token;
      await old.store.close();
      expect((await h.engine.verify('x', fromOld, receive())).subject).to.equal('A');
      const other = await bootPolicy(`  mint: { appId: A }\n  keys:\n${keySet('new', KEY_B)}`);
      const stranger = (await other.engine.issue('x', receive())).token;
      await other.store.close();
      expect((await rejection(() => h.engine.verify('x', stranger, receive()))).code).to.equal('ERR_TOKEN_UNDECRYPTABLE');
    });
  });

  describe('having mint.userFromRequest and credentials', () => {
    const head = 'credentials: [{ id: app1, secret: app1-secret-0123456789 }]\nlockout: { threshold: 3, window: 1m, duration: 1m }\n';
    const body = `  mint: { appId: A, userFromRequest: true, userToken: combined, plaintext: json, client: caller }\n  keys:\n${keySet('k', KEY_A)}`;
    const asApp = (params: Record<string, string>) => tokenRequestFrom({ client_id: 'app1', client_secret: 'app1-secret-0123456789', ...params }, '::ffff:10.1.2.3');

    it('mints a combined token for the user the authenticated caller names, with the caller as Client', async () => {
      h = await bootPolicy(body, head);
      const { token, record } = await h.engine.issue('x', asApp({ UserName: 'alice', Email: 'alice@example.com', ExtFlags: '7' }));
      expect(record.subject).to.equal('alice');
      expect(record.claims).to.not.have.property('XUT');
      const opened = await h.engine.verify('x', token, receive());
      expect(opened.subject).to.equal('alice');
      expect(opened.claims).to.deep.include({ Client: '10.1.2.3', Email: 'alice@example.com', ExtFlags: 7 });
      expect(opened.boundAddress).to.equal(undefined); // ipBinding off: Client is for tracing only
    });
    it('refuses a wrong secret, a missing Email and a control character', async () => {
      h = await bootPolicy(body, head);
      const wrong = tokenRequestFrom({ client_id: 'app1', client_secret: 'nope', UserName: 'a', Email: 'e' }, '127.0.0.1');
      expect((await rejection(() => h.engine.issue('x', wrong))).code).to.equal('ERR_CREDENTIAL_INVALID');
      expect(await rejection(() => h.engine.issue('x', asApp({ UserName: 'alice' })))).to.include({ code: 'ERR_REQUEST_INVALID', claim: 'Email' });
      expect(await rejection(() => h.engine.issue('x', asApp({ UserName: 'a\u0001', Email: 'e' })))).to.include({ code: 'ERR_REQUEST_INVALID', claim: 'UserName' });
    });
    it('refuses U+FFFE, U+FFFF and lone surrogates, which XML 1.0 cannot carry, rather than change the user', async () => {
      h = await bootPolicy(body.replace('plaintext: json', 'plaintext: xml'), head);
      for (const bad of ['a\uFFFE', 'a\uFFFF', 'a\uD800', '\uDC00a']) {
        expect(await rejection(() => h.engine.issue('x', asApp({ UserName: 'alice', Email: bad })))).to.include({ code: 'ERR_REQUEST_INVALID', claim: 'Email' });
      }
      const { token } = await h.engine.issue('x', asApp({ UserName: 'ålice 😀', Email: 'alice@example.com' }));
      expect((await h.engine.verify('x', token, receive())).subject).to.equal('ålice 😀');
    });
  });

  describe('having ipBinding caller', () => {
    it('puts the bound address in Client and refuses the token from another address', async () => {
      h = await bootPolicy(`  mint: { appId: A }\n  keys:\n${keySet('k', KEY_A)}`, 'ipBinding: caller\n');
      const { token } = await h.engine.issue('x', receive({}, '10.0.0.9'));
      expect((await h.engine.verify('x', token, receive({}, '10.0.0.9'))).boundAddress).to.equal('10.0.0.9');
      expect((await rejection(() => h.engine.verify('x', token, receive({}, '10.0.0.8')))).code).to.equal('ERR_TOKEN_IP_MISMATCH');
    });
  });

  describe('having reuse: false and requireUser', () => {
    it('accepts a token once, and only with a user', async () => {
      h = await bootPolicy(`  requireUser: true\n  mint: { appId: A, user: { UserName: u, Email: e } }\n  keys:\n${keySet('k', KEY_A)}`, 'reuse: false\n');
      const { token, record } = await h.engine.issue('x', receive());
      const xut = record.claims?.['XUT'] as string;
      expect(await rejection(() => h.engine.verify('x', token, receive()))).to.include({ code: 'ERR_TOKEN_CLAIM_INVALID', claim: 'UserName' });
      expect((await h.engine.verify('x', token, receive({ XUT: xut }))).subject).to.equal('u');
      expect((await rejection(() => h.engine.verify('x', token, receive({ XUT: xut })))).code).to.equal('ERR_TOKEN_REUSED');
    });
  });

  describe('having CBC with a fixed Init Vector (XDOC’s way)', () => {
    const cbc = `    - { name: k, keySize: 256, mode: CBC, padding: PKCS7, initVector: "@1B2c3D4", key: "${KEY_A}" }\n`;
    it('mints two different tokens at the same instant (GenDT ticks), so revoking one leaves the other', async () => {
      h = await bootPolicy(`  mint: { appId: A }\n  keys:\n${cbc}`);
      const [one, two] = [await h.engine.issue('x', receive()), await h.engine.issue('x', receive())];
      expect(one.token).to.not.equal(two.token);
      expect(one.record.claims?.['GenDT']).to.match(/^2026-11-22T12:00:00\.000\d{4}Z$/);
      await h.engine.revoke(one.token, 'x');
      expect((await rejection(() => h.engine.verify('x', one.token, receive()))).code).to.equal('ERR_TOKEN_REVOKED');
      expect((await h.engine.verify('x', two.token, receive())).tokenId).to.equal(two.record.tokenId);
    });
    it('with genDt: seconds writes GenDT as the pages show it, and the same instant gives the same token', async () => {
      h = await bootPolicy(`  mint: { appId: A, genDt: seconds }\n  keys:\n${cbc}`);
      const [one, two] = [await h.engine.issue('x', receive()), await h.engine.issue('x', receive())];
      expect(one.record.claims?.['GenDT']).to.equal('2026-11-22T12:00:00Z');
      expect(one.token).to.equal(two.token);
    });
  });

  describe('having padding None on CBC', () => {
    it('fills minted XML with spaces to a whole block, and reads it back', async () => {
      h = await bootPolicy(`  mint: { appId: A }\n  keys:\n    - { name: k, keySize: 128, mode: CBC, padding: None, initVector: "@1B2c3D4", key: "${'33'.repeat(16)}" }\n`);
      const { token } = await h.engine.issue('x', receive());
      expect(Buffer.from(token, 'base64').length % 16).to.equal(0);
      expect((await h.engine.verify('x', token, receive())).subject).to.equal('A');
    });
  });

  describe('having no mint block', () => {
    it('only verifies: issuing is refused with a clear code', async () => {
      h = await bootPolicy(`  keys:\n${keySet('k', KEY_A)}`);
      const token = seal(h.engine.policy('x'), xst({ Context: 'Ctx', AppId: 'A', GenDT: '2026-11-22T12:00:00Z' }));
      expect((await h.engine.verify('x', token, receive())).subject).to.equal('A');
      expect(await rejection(() => h.engine.issue('x', receive()))).to.include({ code: 'ERR_REQUEST_INVALID', message: 'this policy only verifies XDOC tokens (it has no mint block)' });
    });
  });

  describe('having a CBC token whose padding is malformed', () => {
    const KEY = '44'.repeat(32);
    const none = new KeySet({ name: 'n', keySize: 256, mode: 'CBC', padding: 'None', initVector: '@1B2c3D4', key: KEY }, new CryptoRandom());
    // A valid XST, filled with spaces to whole blocks, then one block of padding as given.
    const text = xst({ Context: 'Ctx', AppId: 'A', GenDT: formatGenDt(T0) });
    const body = text + ' '.repeat((16 - (text.length % 16)) % 16);
    const token = (block: number[]) => none.encrypt(Buffer.concat([Buffer.from(body), Buffer.from(block)])).toString('base64');
    const fill = (n: number, byte: number) => Array<number>(n).fill(byte);
    const cases: Record<'PKCS7' | 'ANSIX923' | 'ISO10126', { right: number[]; malformed: Record<string, number[]> }> = {
      PKCS7: {
        right: fill(16, 16),
        malformed: {
          'a count of 0': [...fill(15, 16), 0], 'a count of 17': [...fill(15, 16), 17], 'a count of 255': [...fill(15, 16), 255],
          'a full block whose first byte is wrong': [15, ...fill(15, 16)], 'a wrong byte in the middle': [...fill(7, 16), 0, ...fill(8, 16)],
          'a wrong byte just before four of 4': [...fill(12, 16), 5, 4, 4, 4],
        },
      },
      ANSIX923: {
        right: [...fill(15, 0), 16],
        malformed: {
          'a count of 0': fill(16, 0), 'a count of 17': [...fill(15, 0), 17],
          'a full block whose first byte is not zero': [1, ...fill(14, 0), 16], 'a fill byte that is a space': [...fill(7, 0), 32, ...fill(7, 0), 16],
        },
      },
      ISO10126: {
        right: [...fill(15, 0x5a), 16],
        malformed: { 'a count of 0': [...fill(15, 0x5a), 0], 'a count of 17': [...fill(15, 0x5a), 17], 'a count of 255': [...fill(15, 0x5a), 255] },
      },
    };
    for (const [padding, { right, malformed }] of Object.entries(cases)) {
      it(`${padding}: verifies the right padding and answers every malformed one with the same single error`, async () => {
        h = await bootPolicy(`  keys:\n    - { name: k, keySize: 256, mode: CBC, padding: ${padding}, initVector: "@1B2c3D4", key: "${KEY}" }\n`);
        expect((await h.engine.verify('x', token(right), receive())).subject).to.equal('A');
        const answers = new Set<string>();
        for (const [what, block] of Object.entries(malformed)) {
          const err = await rejection(() => h.engine.verify('x', token(block), receive()));
          expect(err.code, what).to.equal('ERR_TOKEN_UNDECRYPTABLE');
          answers.add(`${err.constructor.name} ${String(err.code)} ${err.message}`);
        }
        expect([...answers]).to.deep.equal(['TokenUndecryptableError ERR_TOKEN_UNDECRYPTABLE the token cannot be decrypted']);
      });
    }
  });
});
