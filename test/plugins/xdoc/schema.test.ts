import { expect } from 'chai';
import { assemble } from '../../../core/container.js';
import { PolicyInvalidError, type PolicyIssue } from '../../../core/errors.js';
import { loadPolicyText } from '../../../core/policy/load.js';
import type { PluginRegistry } from '../../../core/registry.js';
import { builtinModules } from '../../../plugins/index.js';

const FILE = '/policies/x.yaml';
const KEY = '00'.repeat(32);

/** A policy whose one key set is the YAML flow mapping `keySet` (on line 7). */
const policy = (keySet: string, extra = '', credentials = '') =>
  `id: x\nstyle: xdoc\n${credentials}xdoc:\n  context: C\n  mint: { appId: A }\n${extra}  keys:\n    - { name: k, ${keySet} }\n`;

describe('plugins/xdoc/schema check (policy load errors)', () => {
  let registry: PluginRegistry;
  before(async () => {
    const assembly = await assemble({ modules: builtinModules });
    registry = assembly.registry;
    await assembly.store.close();
  });
  const issues = (text: string): string[] => {
    try {
      loadPolicyText(text, FILE, { catalog: registry, env: {} });
    } catch (err) {
      if (err instanceof PolicyInvalidError) return err.issues.map((i: PolicyIssue) => `${i.file}:${i.line}:${i.col}: ${i.path}: ${i.message}`);
      throw err;
    }
    return [];
  };

  it('accepts a complete key set of each mode', () => {
    expect(issues(policy(`keySize: 256, mode: CBC, padding: PKCS7, initVector: "@1B2c3D4", key: "${KEY}"`))).to.deep.equal([]);
    expect(issues(policy(`keySize: 128, mode: ECB, padding: Zeros, key: "${'00'.repeat(16)}"`))).to.deep.equal([]);
    expect(issues(policy(`keySize: 192, mode: GCM, derive: pbkdf2, passphrase: p, salt: saltsalt`))).to.deep.equal([]);
    expect(issues(policy(`keySize: 256, mode: GCM, padding: None, derive: passwordDeriveBytes, passphrase: p`))).to.deep.equal([]);
  });

  const refused: [string, string, string][] = [
    ['GCM with a padding', `keySize: 256, mode: GCM, padding: PKCS7, key: "${KEY}"`,
      '/policies/x.yaml:7:52: /xdoc/keys/0/padding: mode GCM takes no padding (it is a stream mode); remove padding or set None, not PKCS7'],
    ['GCM with an Init Vector', `keySize: 256, mode: GCM, initVector: "@1B2c3D4", key: "${KEY}"`,
      '/policies/x.yaml:7:55: /xdoc/keys/0/initVector: mode GCM uses a fresh random nonce per token (sent in front of the ciphertext); remove initVector'],
    ['ECB with an Init Vector', `keySize: 256, mode: ECB, padding: PKCS7, initVector: "@1B2c3D4", key: "${KEY}"`,
      '/policies/x.yaml:7:71: /xdoc/keys/0/initVector: mode ECB uses no Init Vector; remove initVector (and prefer CBC or GCM: ECB shows repeated blocks)'],
    ['CBC without an Init Vector', `keySize: 256, mode: CBC, padding: PKCS7, key: "${KEY}"`,
      "/policies/x.yaml:7:38: /xdoc/keys/0/mode: mode CBC needs initVector (XDOC's default is @1B2c3D4)"],
    ['CBC without a padding', `keySize: 256, mode: CBC, initVector: "@1B2c3D4", key: "${KEY}"`,
      '/policies/x.yaml:7:38: /xdoc/keys/0/mode: mode CBC needs a padding: one of None, PKCS7, Zeros, ANSIX923, ISO10126'],
    ['an Init Vector of 7 characters', `keySize: 256, mode: CBC, padding: PKCS7, initVector: "@1B2c3D", key: "${KEY}"`,
      '/policies/x.yaml:7:71: /xdoc/keys/0/initVector: initVector must be 16 bytes (8 characters) as utf16le, one AES block; it is 14'],
    ['an 8-character Init Vector as UTF-8 (8 bytes)', `keySize: 256, mode: CBC, padding: PKCS7, initVector: "@1B2c3D4", ivEncoding: utf8, key: "${KEY}"`,
      '/policies/x.yaml:7:71: /xdoc/keys/0/initVector: initVector must be 16 bytes as utf8, one AES block; it is 8'],
    ['an Init Vector that is not hex', `keySize: 256, mode: CBC, padding: PKCS7, initVector: "zz", ivEncoding: hex, key: "${KEY}"`,
      '/policies/x.yaml:7:71: /xdoc/keys/0/initVector: initVector is not valid hex'],
    ['ascii with a character outside ASCII', `keySize: 256, mode: CBC, padding: PKCS7, initVector: "@1B2c3D4@1B2c3Dé", ivEncoding: ascii, key: "${KEY}"`,
      '/policies/x.yaml:7:71: /xdoc/keys/0/initVector: initVector is not valid ascii'],
    ['a raw key shorter than keySize', `keySize: 256, mode: ECB, padding: PKCS7, key: "${'00'.repeat(16)}"`,
      '/policies/x.yaml:7:64: /xdoc/keys/0/key: key is 128 bits; keySize says 256'],
    ['a raw key that is not base64', `keySize: 128, mode: ECB, padding: PKCS7, key: "not base64!", keyEncoding: base64`,
      '/policies/x.yaml:7:64: /xdoc/keys/0/key: key is not valid base64'],
    ['PBKDF2 without salt', `keySize: 256, mode: GCM, derive: pbkdf2, passphrase: p`,
      "/policies/x.yaml:7:51: /xdoc/keys/0/derive: derive pbkdf2 needs salt (at least 8 bytes, as .NET's Rfc2898DeriveBytes requires)"],
    ['PBKDF2 with a 4-byte salt', `keySize: 256, mode: GCM, derive: pbkdf2, passphrase: p, salt: "0a0b0c0d", saltEncoding: hex`,
      '/policies/x.yaml:7:80: /xdoc/keys/0/salt: pbkdf2 salt must be at least 8 bytes; it is 4'],
    ['a derivation without passphrase', `keySize: 256, mode: GCM, derive: passwordDeriveBytes`,
      '/policies/x.yaml:7:51: /xdoc/keys/0/derive: derive passwordDeriveBytes needs passphrase'],
    ['a derivation and a raw key', `keySize: 256, mode: GCM, derive: passwordDeriveBytes, passphrase: p, key: "${KEY}"`,
      '/policies/x.yaml:7:92: /xdoc/keys/0/key: a derived key comes from passphrase; remove key (or remove derive to use key as raw bytes)'],
    ['a salt for a raw key', `keySize: 256, mode: GCM, key: "${KEY}", salt: abcdefgh`,
      '/policies/x.yaml:7:122: /xdoc/keys/0/salt: salt applies only to a derived key (derive: pbkdf2 or passwordDeriveBytes)'],
    ['neither key nor passphrase', `keySize: 256, mode: GCM`,
      '/policies/x.yaml:7:7: /xdoc/keys/0/key: give key (raw, in keyEncoding) or passphrase with derive'],
    ['padding None with form-url plaintext', `keySize: 128, mode: ECB, padding: None, key: "${'00'.repeat(16)}"`,
      '/policies/x.yaml:7:52: /xdoc/keys/0/padding: padding None needs block-aligned plaintext; minted xml and json are filled with trailing spaces, but a form-url string cannot be: use plaintext xml or json, or a padding'],
  ];
  for (const [name, keySet, message] of refused) {
    it(`refuses ${name}`, () => {
      const text = name.includes('form-url') ? policy(keySet).replace('mint: { appId: A }', 'mint: { appId: A, plaintext: form }') : policy(keySet);
      expect(issues(text)).to.deep.equal([message]);
    });
  }

  it('reports a missing xdoc block as such (the style check does not trip over it)', () => {
    expect(issues('id: x\nstyle: xdoc\n')).to.deep.equal(['/policies/x.yaml:1:1: : missing the "xdoc" settings block that style xdoc requires']);
  });

  it('refuses a key size, mode or padding XDOC does not have, by the schema', () => {
    const found = issues(policy(`keySize: 196, mode: CTR, padding: PKCS5, key: "${KEY}"`));
    expect(found).to.have.length(3);
    expect(found[0]).to.match(/^\/policies\/x\.yaml:7:27: \/xdoc\/keys\/0\/keySize: /);
  });

  it('refuses two key sets of one name, a mint.appKey not listed, and user fields from requests without credentials', () => {
    const text = `id: x\nstyle: xdoc\nxdoc:\n  context: C\n  appKeys: [k1]\n  mint: { appId: A, appKey: k2, userFromRequest: true }\n  keys:\n`
      + `    - { name: k, keySize: 128, mode: GCM, key: "${'00'.repeat(16)}" }\n    - { name: k, keySize: 128, mode: GCM, key: "${'00'.repeat(16)}" }\n`;
    expect(issues(text)).to.deep.equal([
      '/policies/x.yaml:6:29: /xdoc/mint/appKey: mint.appKey is not one of appKeys: the tokens this policy mints would not verify',
      '/policies/x.yaml:6:50: /xdoc/mint/userFromRequest: userFromRequest needs a credentials list: otherwise anyone who reaches the route could mint a token for any user',
      '/policies/x.yaml:9:15: /xdoc/keys/1/name: key set "k" is listed twice',
    ]);
  });

  it('refuses a maxAge outside the ttl bounds, a user without Email, and a route without a mint block', () => {
    const text = `id: x\nstyle: xdoc\nroute: { path: /t }\nttl: { default: 1m, max: 2m }\nxdoc:\n  context: C\n  maxAge: 5m\n  keys:\n`
      + `    - { name: k, keySize: 128, mode: GCM, key: "${'00'.repeat(16)}" }\n`;
    expect(issues(text)).to.deep.equal([
      '/policies/x.yaml:6:3: /xdoc: this policy has an issuing route but no mint block (appId, …): add mint, or remove the route to only verify',
    ]);
    const minted = text.replace('  maxAge: 5m\n', '  maxAge: 5m\n  mint: { appId: A, user: { UserName: u } }\n');
    expect(issues(minted)).to.deep.equal([
      '/policies/x.yaml:7:11: /xdoc/maxAge: maxAge + clockSkew is the lifetime of minted tokens and must lie within ttl min..max (1s..120s)',
      '/policies/x.yaml:8:27: /xdoc/mint/user: a User Token needs UserName and Email',
    ]);
  });
});
