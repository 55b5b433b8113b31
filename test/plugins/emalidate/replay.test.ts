import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tokenRequestFrom } from '../../../core/request.js';
import { bootFixture, EMALIDATE_POLICY, rejection, type Harness } from '../../helpers/boot.js';

/** The example policy's demo key (no env given), to sign tokens the engine must still refuse. */
const DEMO_SECRET = 'demo-secret-do-not-use-in-production-0123';
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const req = () => tokenRequestFrom({}, '127.0.0.1');
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** The same token with the last signature character's unused bits changed: the same signature bytes. */
function respelled(token: string): string {
  const last = ALPHABET.indexOf(token.at(-1) as string);
  return `${token.slice(0, -1)}${ALPHABET[last ^ 1]}`;
}

/** Another token string carrying the given token's `jti` (a different `iat`), properly signed. */
function sameJti(token: string, shiftS: number): string {
  const [header, payload] = token.split('.') as [string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { iat: number; exp: number };
  const input = `${header}.${b64({ ...claims, iat: claims.iat + shiftS, exp: claims.exp + shiftS })}`;
  return `${input}.${createHmac('sha256', DEMO_SECRET).update(input).digest('base64url')}`;
}

/**
 * Single use and revocation of self-contained tokens hold for the token, not for its spelling:
 * a respelled signature is refused outright, and both are keyed by `jti`, so even a second
 * well-formed token string with the same `jti` is refused.
 */
describe('plugins/emalidate through the engine: single use and revocation by jti', () => {
  let h: Harness;
  beforeEach(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-emalidate-once-'));
    const file = join(dir, 'emalidate.yaml');
    const text = readFileSync(EMALIDATE_POLICY, 'utf8');
    if (!text.includes('reuse: true')) throw new Error('the example policy no longer says reuse: true');
    writeFileSync(file, text.replace('reuse: true', 'reuse: false'));
    h = await bootFixture({ policies: [file] });
  });
  afterEach(async () => {
    await h.store.close();
  });

  it('refuses a single-use token re-sent with its signature respelled, and a respelling does not use it up', async () => {
    const { token } = await h.engine.issue('emalidate', req());
    const before = await rejection(() => h.engine.verify('emalidate', respelled(token), req()));
    expect(before.code).to.equal('ERR_TOKEN_SIGNATURE');
    expect((await h.engine.verify('emalidate', token, req())).subject).to.equal('demo-user');
    const again: [string, string][] = [[token, 'ERR_TOKEN_REUSED'], [respelled(token), 'ERR_TOKEN_SIGNATURE'], [`${token}=`, 'ERR_TOKEN_SIGNATURE']];
    for (const [presented, code] of again) {
      expect((await rejection(() => h.engine.verify('emalidate', presented, req()))).code, presented.slice(-4)).to.equal(code);
    }
  });

  it('keys single use by jti: another well-formed token with the same jti is refused as reused', async () => {
    const { token } = await h.engine.issue('emalidate', req());
    expect((await h.engine.verify('emalidate', token, req())).subject).to.equal('demo-user');
    const err = await rejection(() => h.engine.verify('emalidate', sameJti(token, 1), req()));
    expect(err.code).to.equal('ERR_TOKEN_REUSED');
  });

  it('keeps a revoked token revoked under a respelled signature and under another token with its jti', async () => {
    const { token } = await h.engine.issue('emalidate', req());
    expect(await h.engine.revoke(token, 'emalidate')).to.equal(true);
    expect((await rejection(() => h.engine.verify('emalidate', token, req()))).code).to.equal('ERR_TOKEN_REVOKED');
    expect((await rejection(() => h.engine.verify('emalidate', respelled(token), req()))).code).to.equal('ERR_TOKEN_SIGNATURE');
    expect((await rejection(() => h.engine.verify('emalidate', sameJti(token, 1), req()))).code).to.equal('ERR_TOKEN_REVOKED');
    expect((await h.engine.introspect(respelled(token), 'emalidate')).active).to.equal(false);
  });
});
