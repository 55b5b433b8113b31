import { expect } from 'chai';
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { createApp } from '../../server/app.js';
import { bootFixture, type Harness } from '../helpers/boot.js';
import { listen } from '../helpers/http.js';

/** A POST with exactly these bytes and headers (fetch would not send a Content-Encoding it did not apply). */
function post(url: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('server/body bodyReader (over HTTP)', () => {
  let h: Harness;
  let http: Awaited<ReturnType<typeof listen>>;
  const errors: unknown[] = [];

  before(async () => {
    h = await bootFixture();
    http = await listen(createApp({ engine: h.engine, logger: { info() {}, warn() {}, error: (line: object) => void errors.push(line) } }));
  });
  after(async () => {
    await http.close();
    await h.store.close();
  });

  const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
  const INVALID = { error: 'ERR_BODY_INVALID', error_description: 'compressed request bodies are not accepted (Content-Encoding)' };

  it('refuses a compressed body with 400 ERR_BODY_INVALID before reading it: Brotli cut short by the limit killed the process', async () => {
    for (const encoding of ['br', 'gzip', 'deflate', 'x-bogus', 'gzip, identity']) {
      const res = await post(`${http.url}/emalidate/token`, { ...FORM, 'content-encoding': encoding }, Buffer.alloc(40_000, 0x61));
      expect(res.status).to.equal(400);
      expect(JSON.parse(res.body)).to.deep.equal(INVALID);
    }
    const gzip = await post(`${http.url}/emalidate/token`, { ...FORM, 'content-encoding': 'gzip' }, gzipSync('expires_in=60'));
    expect(JSON.parse(gzip.body)).to.deep.equal(INVALID);
    // Still serving, and nothing was an internal error.
    expect((await fetch(`${http.url}/healthz`)).status).to.equal(200);
    expect(errors).to.deep.equal([]);
  });

  it('reads an identity-encoded body, and refuses one that does not parse with ERR_BODY_INVALID', async () => {
    const ok = await post(`${http.url}/emalidate/token`, { ...FORM, 'content-encoding': 'identity' }, Buffer.from('expires_in=60'));
    expect(ok.status).to.equal(200);
    expect(JSON.parse(ok.body)).to.include({ expires_in: 60 });
    const bad = await post(`${http.url}/emalidate/token`, { 'content-type': 'application/json' }, Buffer.from('{"a":'));
    expect(bad.status).to.equal(400);
    expect(JSON.parse(bad.body)).to.deep.equal({ error: 'ERR_BODY_INVALID', error_description: 'request body could not be read' });
    expect(errors).to.deep.equal([]);
  });
});
