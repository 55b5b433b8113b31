import { readFileSync } from 'node:fs';
import { CryptoRandom } from '../../core/random.js';
import type { Policy } from '../../core/policy/types.js';
import { KeySet } from '../../plugins/xdoc/cipher.js';
import type { XdocSettings } from '../../plugins/xdoc/schema.js';

export const XDOC_POLICY = 'policies/xdoc.yaml';

/** The whole tokens `test/fixtures/xdoc/make-vectors.py` made with openssl for the example policy's settings. */
export const VECTOR_TOKENS = (
  JSON.parse(readFileSync('test/fixtures/xdoc/vectors.json', 'utf8')) as {
    tokens: { keyHex: string; plaintexts: Record<string, string>; base64: Record<string, string> };
  }
).tokens;

/** The environment under which the vector tokens verify with policies/xdoc.yaml. */
export const XDOC_ENV: Readonly<Record<string, string>> = {
  XDOC_KEY_HEX: VECTOR_TOKENS.keyHex,
  XDOC_INIT_VECTOR: '@1B2c3D4',
  XDOC_CONTEXT: 'MySecurityContext',
  XDOC_APPKEY: 'MyAppKey',
};

/** The instant every vector token's GenDT names. */
export const VECTOR_GENDT = Date.parse('2023-03-08T22:15:53Z');

/** Encrypts `plaintext` with the policy's first key set, as an integrating application would: standard Base64. */
export function seal(policy: Policy, plaintext: string): string {
  const set = new KeySet((policy.settings as unknown as XdocSettings).keys[0] as XdocSettings['keys'][number], new CryptoRandom());
  return set.encrypt(Buffer.from(plaintext)).toString('base64');
}

/** An XST plaintext in XML with these fields (values are not escaped: tests give plain text). */
export const xst = (fields: Record<string, string>, root = 'SecurityToken'): string =>
  `<${root}>${Object.entries(fields).map(([k, v]) => `<${k}>${v}</${k}>`).join('')}</${root}>`;
