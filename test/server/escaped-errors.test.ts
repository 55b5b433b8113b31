import { expect } from 'chai';
import { createApp } from '../../server/app.js';
import { bootFixture, type Harness } from '../helpers/boot.js';
import { listen } from '../helpers/http.js';

describe('server/error-middleware logEscapedErrors (over HTTP)', () => {
  let h: Harness;
  let http: Awaited<ReturnType<typeof listen>>;
  const errors: { line: Record<string, unknown>; msg: string | undefined }[] = [];

  afterEach(async () => {
    await http.close();
    await h.store.close();
    errors.length = 0;
  });

  it('logs an error thrown outside the error middleware (here, by the request log), which Koa answers with a bare 500', async () => {
    h = await bootFixture();
    const logger = {
      info() {
        throw new Error('the log destination failed');
      },
      warn() {},
      error: (line: object, msg?: string) => void errors.push({ line: line as Record<string, unknown>, msg }),
    };
    http = await listen(createApp({ engine: h.engine, logger }));
    const res = await fetch(`${http.url}/emalidate/token`, { method: 'POST' });
    expect(res.status).to.equal(500);
    expect(await res.text()).to.equal('Internal Server Error');
    expect(errors).to.have.length(1);
    const [{ line, msg }] = errors as [{ line: Record<string, unknown>; msg: string | undefined }];
    expect(msg).to.equal('unexpected error outside the error middleware');
    expect(line).to.deep.include({ path: '/emalidate/token', method: 'POST' });
    expect((line['error'] as { message: string }).message).to.equal('the log destination failed');
  });

  it('logs nothing for what the error middleware answers', async () => {
    h = await bootFixture();
    http = await listen(createApp({ engine: h.engine, logger: { info() {}, warn() {}, error: (line: object, msg?: string) => void errors.push({ line: line as Record<string, unknown>, msg }) } }));
    expect((await fetch(`${http.url}/emalidate/token`)).status).to.equal(405);
    expect((await fetch(`${http.url}/nowhere`)).status).to.equal(404);
    expect(errors).to.deep.equal([]);
  });
});
