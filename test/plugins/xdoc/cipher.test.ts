import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { CryptoRandom } from '../../../core/random.js';
import { KeySet, keyBytes, GCM_NONCE, GCM_TAG } from '../../../plugins/xdoc/cipher.js';
import { passwordDeriveBytes, pbkdf2Sha1 } from '../../../plugins/xdoc/derive.js';
import type { KeySetSettings } from '../../../plugins/xdoc/schema.js';

interface Vector {
  settings: KeySetSettings;
  keyHex: string;
  plaintext: string;
  ciphertext: string;
  deterministic: boolean;
}
const fixture = JSON.parse(readFileSync('test/fixtures/xdoc/vectors.json', 'utf8')) as { vectors: Vector[] };
const kats = JSON.parse(readFileSync('test/fixtures/xdoc/password-derive-bytes.json', 'utf8')) as {
  vectors: { test: string; password: string; saltHex: string; iterations: number; hex: string }[];
};
const random = new CryptoRandom();
/** What padding None leaves: the sender filled the text with spaces to a whole block. */
const filled = (text: string) => text + ' '.repeat((16 - (Buffer.byteLength(text) % 16)) % 16);
const label = (v: Vector) => {
  const s = v.settings;
  return `${s.name}: AES-${s.keySize}-${s.mode} ${s.padding ?? ''} key ${s.derive ?? s.keyEncoding}${s.ivEncoding ? ` iv ${s.ivEncoding}` : ''}`;
};

describe('plugins/xdoc/cipher', () => {
  describe('the interop vectors (openssl enc, openssl kdf, cryptography AESGCM)', () => {
    it('cover every key size × mode × padding × key derivation', () => {
      const combos = new Set(fixture.vectors.map((v) => `${v.settings.keySize} ${v.settings.mode} ${v.settings.padding ?? 'None'} ${v.settings.derive ?? v.settings.keyEncoding}`));
      // 3 sizes × (CBC and ECB × 5 paddings + GCM) × (hex, base64, pbkdf2, passwordDeriveBytes)
      expect(combos.size).to.equal(3 * 11 * 4);
    });
    for (const vector of fixture.vectors) {
      describe(label(vector), () => {
        const set = new KeySet(vector.settings, random);
        it('derives or decodes the same key bytes', () => {
          expect(keyBytes(vector.settings).toString('hex')).to.equal(vector.keyHex);
        });
        it('decrypts the vector', () => {
          const plain = set.decrypt(Buffer.from(vector.ciphertext, 'base64'));
          expect(plain?.toString('utf8')).to.equal(vector.settings.padding === 'None' ? filled(vector.plaintext) : vector.plaintext);
        });
        if (vector.deterministic) {
          it('encrypts to the same bytes', () => {
            const text = vector.settings.padding === 'None' ? filled(vector.plaintext) : vector.plaintext;
            expect(set.encrypt(Buffer.from(text)).toString('base64')).to.equal(vector.ciphertext);
          });
        } else {
          it('decrypts what it encrypts', () => {
            const once = set.encrypt(Buffer.from(vector.plaintext));
            expect(set.decrypt(once)?.toString()).to.equal(vector.plaintext);
            expect(once.length).to.equal(Buffer.from(vector.ciphertext, 'base64').length);
          });
        }
      });
    }
  });

  describe('passwordDeriveBytes', () => {
    for (const kat of kats.vectors) {
      it(`gives .NET's known answer ${kat.test}`, () => {
        const out = passwordDeriveBytes(Buffer.from(kat.password), Buffer.from(kat.saltHex, 'hex'), kat.iterations, kat.hex.length / 2);
        expect(out.toString('hex').toUpperCase()).to.equal(kat.hex);
      });
    }
    it('gives the first bytes of a longer output for a shorter length (one GetBytes call)', () => {
      const long = passwordDeriveBytes(Buffer.from('p'), undefined, 100, 60);
      expect(passwordDeriveBytes(Buffer.from('p'), undefined, 100, 24).equals(long.subarray(0, 24))).to.equal(true);
    });
    it('refuses lengths .NET refuses', () => {
      expect(() => passwordDeriveBytes(Buffer.from('p'), undefined, 100, 20_001)).to.throw(TypeError, 'length must be 1..20000 bytes');
      expect(() => passwordDeriveBytes(Buffer.from('p'), undefined, 0, 16)).to.throw(TypeError, 'iterations must be a positive integer');
    });
  });

  describe('pbkdf2Sha1', () => {
    it('gives RFC 6070’s answer for 2 iterations', () => {
      expect(pbkdf2Sha1(Buffer.from('password'), Buffer.from('salt'), 2, 20).toString('hex')).to.equal('ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957');
    });
  });

  describe('KeySet.decrypt', () => {
    const cbc = (padding: KeySetSettings['padding']) =>
      new KeySet({ name: 'k', keySize: 128, mode: 'CBC', padding, initVector: '@1B2c3D4', key: '00'.repeat(16) }, random);
    it('refuses wrong padding, wrong lengths and empty input alike, with undefined', () => {
      const set = cbc('PKCS7');
      const good = set.encrypt(Buffer.from('hello'));
      expect(set.decrypt(good)?.toString()).to.equal('hello');
      const other = cbc('ANSIX923');
      expect(other.decrypt(good)).to.equal(undefined); // PKCS7 bytes 0b…0b are not ANSI X9.23's zeros
      expect(set.decrypt(good.subarray(0, 15))).to.equal(undefined);
      expect(set.decrypt(Buffer.alloc(0))).to.equal(undefined);
    });
    it('checks every PKCS7 padding byte, not only the last', () => {
      const none = cbc('None');
      const forged = none.encrypt(Buffer.from('0123456789ab\x04\x04\x05\x04'));
      expect(cbc('PKCS7').decrypt(forged)).to.equal(undefined);
      const right = none.encrypt(Buffer.from('0123456789ab\x04\x04\x04\x04'));
      expect(cbc('PKCS7').decrypt(right)?.toString()).to.equal('0123456789ab');
    });
    it('refuses a padding length of 0 or more than a block', () => {
      const none = cbc('None');
      expect(cbc('ISO10126').decrypt(none.encrypt(Buffer.from('0123456789abcde\x00')))).to.equal(undefined);
      expect(cbc('ISO10126').decrypt(none.encrypt(Buffer.from('0123456789abcde\x11')))).to.equal(undefined);
    });
    it('refuses a full block of padding whose first byte alone is wrong (PKCS7, ANSI X9.23)', () => {
      const none = cbc('None');
      const text = '0123456789abcdef';
      const forged = (block: number[]) => none.encrypt(Buffer.concat([Buffer.from(text), Buffer.from(block)]));
      expect(cbc('PKCS7').decrypt(forged(Array(16).fill(16)))?.toString()).to.equal(text);
      expect(cbc('PKCS7').decrypt(forged([15, ...Array(15).fill(16)]))).to.equal(undefined);
      expect(cbc('PKCS7').decrypt(forged([0, ...Array(15).fill(16)]))).to.equal(undefined);
      expect(cbc('ANSIX923').decrypt(forged([...Array(15).fill(0), 16]))?.toString()).to.equal(text);
      expect(cbc('ANSIX923').decrypt(forged([1, ...Array(14).fill(0), 16]))).to.equal(undefined);
    });
    it('round-trips every padding at every length around the block boundaries, in CBC and ECB', () => {
      for (const mode of ['CBC', 'ECB'] as const) {
        for (const padding of ['PKCS7', 'Zeros', 'ANSIX923', 'ISO10126', 'None'] as const) {
          const set = new KeySet({ name: 'k', keySize: 128, mode, padding, key: '0f'.repeat(16), ...(mode === 'CBC' ? { initVector: '@1B2c3D4' } : {}) }, random);
          for (let length = 1; length <= 49; length++) {
            if (padding === 'None' && length % 16 !== 0) continue; // None takes whole blocks only
            const plain = Buffer.from('x'.repeat(length));
            const sealed = set.encrypt(plain);
            expect(sealed.length, `${mode} ${padding} ${length}`).to.equal(padding === 'None' || (padding === 'Zeros' && length % 16 === 0) ? length : (Math.floor(length / 16) + 1) * 16);
            expect(set.decrypt(sealed)?.equals(plain), `${mode} ${padding} ${length}`).to.equal(true);
          }
        }
      }
    });
    it('gives the text of a wrong padding as a right one would, marked not intact (unseal), so the caller can do the same work', () => {
      const none = cbc('None');
      const text = Buffer.from('0123456789abcdef0123');
      const right = [...Array(12).fill(12)];
      const wrong = [11, ...Array(11).fill(12)];
      const sealed = (fill: number[]) => none.encrypt(Buffer.concat([text, Buffer.from(fill)]));
      const good = cbc('PKCS7').unseal(sealed(right));
      const bad = cbc('PKCS7').unseal(sealed(wrong));
      expect(good).to.deep.include({ intact: true });
      expect(bad).to.deep.include({ intact: false });
      expect(bad?.plain.equals(text)).to.equal(true);
      expect(good?.plain.equals(text)).to.equal(true);
      expect(cbc('PKCS7').decrypt(sealed(wrong))).to.equal(undefined);
      // A count byte out of range still gives a text, its end taken from the byte's low four bits (0xff: 15 + 1 - 1).
      const outOfRange = cbc('PKCS7').unseal(sealed([...Array(11).fill(12), 0xff]));
      expect(outOfRange?.intact).to.equal(false);
      expect(outOfRange?.plain.length).to.equal(32 - 15);
    });
    it('lays GCM out as nonce ‖ ciphertext ‖ tag and refuses a changed tag or a short input', () => {
      const gcm = new KeySet({ name: 'g', keySize: 256, mode: 'GCM', key: 'ab'.repeat(32) }, random);
      const sealed = gcm.encrypt(Buffer.from('hello'));
      expect(sealed.length).to.equal(GCM_NONCE + 5 + GCM_TAG);
      expect(gcm.decrypt(sealed)?.toString()).to.equal('hello');
      const changed = Buffer.from(sealed);
      changed[changed.length - 1] = (changed[changed.length - 1] as number) ^ 1;
      expect(gcm.decrypt(changed)).to.equal(undefined);
      expect(gcm.decrypt(sealed.subarray(0, GCM_NONCE + GCM_TAG - 1))).to.equal(undefined);
    });
  });
});
