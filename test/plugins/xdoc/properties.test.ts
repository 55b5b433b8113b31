import { expect } from 'chai';
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../core/clock.js';
import { TokenSmithError } from '../../../core/errors.js';
import { CryptoRandom } from '../../../core/random.js';
import { tokenRequestFrom } from '../../../core/request.js';
import { KeySet } from '../../../plugins/xdoc/cipher.js';
import { KEY_SIZES, MODES, PADDINGS, type KeySetSettings } from '../../../plugins/xdoc/schema.js';
import { boot, type Booted } from '../../../server/bootstrap.js';
import { T0 } from '../../helpers/boot.js';
import '../../helpers/fast-check.js'; // the run's logged, replayable seed (FC_SEED)

const random = new CryptoRandom();
const dir = mkdtempSync(join(tmpdir(), 'ts-xdoc-prop-'));

async function bootPolicy(plaintext: string, keys: string): Promise<Booted> {
  const file = join(dir, `${plaintext}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, [
    'id: p', 'style: xdoc', 'credentials: [{ id: app, secret: app-secret-0123456789 }]', 'xdoc:', '  context: Ctx',
    `  mint: { appId: A, plaintext: ${plaintext}, userFromRequest: true, userToken: combined }`, '  keys:', `    - ${keys}`, '',
  ].join('\n'));
  return boot({ policies: [file], store: 'memory', env: {}, clock: new ManualClock(T0) });
}

describe('plugins/xdoc properties (fast-check)', () => {
  describe('every key size × mode × padding', () => {
    for (const keySize of KEY_SIZES) {
      for (const mode of MODES) {
        for (const padding of mode === 'GCM' ? (['None'] as const) : PADDINGS) {
          it(`AES-${keySize}-${mode} ${padding}: random plaintexts round-trip`, () => {
            const settings: KeySetSettings = {
              name: 'k', keySize, mode, padding, key: random.bytes(keySize / 8).toString('hex'),
              ...(mode === 'CBC' ? { initVector: '@1B2c3D4' } : {}),
            };
            const set = new KeySet(settings, random);
            // Tokens are never empty; None takes whole blocks only (the minting side fills them); Zeros cannot keep trailing NULs.
            const bytes = fc.uint8Array({ minLength: padding === 'None' && mode !== 'GCM' ? 16 : 1, maxLength: 200 })
              .map((a) => Buffer.from(padding === 'None' && mode !== 'GCM' ? a.subarray(0, a.length - (a.length % 16)) : a))
              .filter((b) => padding !== 'Zeros' || b.length === 0 || b[b.length - 1] !== 0);
            fc.assert(fc.property(bytes, (plain) => set.decrypt(set.encrypt(plain))?.equals(plain) === true), { numRuns: 60 });
          });
        }
      }
    }
  });

  describe('user fields through mint and open', () => {
    const value = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 24 });
    for (const plaintext of ['xml', 'json', 'form']) {
      it(`round-trip any printable text in ${plaintext} plaintext`, async () => {
        const h = await bootPolicy(plaintext, `{ name: k, keySize: 256, mode: CBC, padding: PKCS7, initVector: "@1B2c3D4", key: "${'42'.repeat(32)}" }`);
        try {
          await fc.assert(
            fc.asyncProperty(value, value, value, async (UserName, Display, Email) => {
              const asked = tokenRequestFrom({ client_id: 'app', client_secret: 'app-secret-0123456789', UserName, Display, Email }, '127.0.0.1');
              const { token } = await h.engine.issue('p', asked);
              const record = await h.engine.verify('p', token, tokenRequestFrom({ XSC: 'Ctx' }, '127.0.0.1'));
              expect(record.claims).to.deep.include({ UserName, Display, Email });
            }),
            { numRuns: 60 },
          );
        } finally {
          await h.store.close();
        }
      });
    }
  });

  describe('GCM', () => {
    it('never verifies a token with any one bit flipped, or cut short', async () => {
      const h = await bootPolicy('xml', `{ name: k, keySize: 256, mode: GCM, key: "${'42'.repeat(32)}" }`);
      try {
        const asked = tokenRequestFrom({ client_id: 'app', client_secret: 'app-secret-0123456789', UserName: 'u', Email: 'e' }, '127.0.0.1');
        const { token } = await h.engine.issue('p', asked);
        const bytes = Buffer.from(token, 'base64');
        const receive = tokenRequestFrom({ XSC: 'Ctx' }, '127.0.0.1');
        expect((await h.engine.verify('p', token, receive)).subject).to.equal('u');
        const outcome = async (changed: Buffer) => {
          try {
            await h.engine.verify('p', changed.toString('base64'), receive);
            return 'verified';
          } catch (err) {
            return err instanceof TokenSmithError ? err.code : String(err);
          }
        };
        await fc.assert(
          fc.asyncProperty(fc.nat({ max: bytes.length * 8 - 1 }), async (bit) => {
            const flipped = Buffer.from(bytes);
            flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7));
            return (await outcome(flipped)) === 'ERR_TOKEN_UNDECRYPTABLE';
          }),
          { numRuns: 300 },
        );
        await fc.assert(
          fc.asyncProperty(fc.integer({ min: 1, max: bytes.length - 1 }), async (length) => (await outcome(bytes.subarray(0, length))) === 'ERR_TOKEN_UNDECRYPTABLE'),
          { numRuns: 100 },
        );
      } finally {
        await h.store.close();
      }
    });
  });
});
