/**
 * The in-process baseline for XDOC: what an application doing XST by hand with node:crypto would
 * do, with the same plaintext work as the plugin (same XML text, same xml2js parser) and a key
 * imported once — so the ratio measures what tokensmith adds (settings tables, checks, GenDT,
 * app-key and token-id digests, the revocation lookup), not AES or XML.
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { Parser } from 'xml2js';

const escape = (text: string): string => text.replace(/[&<>\r]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#xD;' })[c] as string);

export interface HandXdoc {
  /** XST and XUT for one user, as the example policy mints them. */
  mint(now: number): { xst: string; xut: string };
  /** Decrypts and parses an XST; throws unless its Context is `context`. */
  verify(xst: string, context: string): Record<string, string>;
}

/** AES-CBC with PKCS7 (node's own padding), key and IV made once. */
export function handXdoc(keyHex: string, initVector: string, fields: { context: string; appId: string; appKey: string }): HandXdoc {
  const raw = Buffer.from(keyHex, 'hex');
  const key: KeyObject = createSecretKey(raw);
  const iv = Buffer.from(initVector, 'utf16le');
  const algorithm = `aes-${raw.length * 8}-cbc`;
  const seal = (text: string): string => {
    const cipher = createCipheriv(algorithm, key, iv);
    return Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]).toString('base64');
  };
  const options = { strict: true, async: false, explicitArray: true, ignoreAttrs: true, emptyTag: '' };
  return {
    mint(now) {
      const genDt = `${new Date(Math.floor(now / 1000) * 1000).toISOString().slice(0, 19)}Z`;
      const xst = `<SecurityToken><Context>${escape(fields.context)}</Context><AppId>${escape(fields.appId)}</AppId><AppKey>${escape(fields.appKey)}</AppKey><GenDT>${genDt}</GenDT></SecurityToken>`;
      const xut = '<UserToken><UserName>demo-user</UserName><Display>Demo User</Display><Email>demo-user@example.com</Email></UserToken>';
      return { xst: seal(xst), xut: seal(xut) };
    },
    verify(xst, context) {
      const decipher = createDecipheriv(algorithm, key, iv);
      const text = Buffer.concat([decipher.update(Buffer.from(xst, 'base64')), decipher.final()]).toString('utf8');
      let result: Record<string, Record<string, string[]>> | undefined;
      new Parser(options).parseString(text, (err: Error | null, value: typeof result) => {
        if (err) throw err;
        result = value;
      });
      const root = result?.['SecurityToken'] ?? {};
      const out = Object.fromEntries(Object.entries(root).map(([k, v]) => [k, v[0] as string]));
      if (out['Context'] !== context) throw new Error('context mismatch');
      return out;
    },
  };
}
