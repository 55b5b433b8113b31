import { expect } from 'chai';
import { boot, type Booted } from '../../server/bootstrap.js';
import { createApp } from '../../server/app.js';
import { listen } from '../helpers/http.js';

const ENV = { MELISSA_LICENSE: 'licence-0123456789', ELECTA_CID: '42', ELECTA_APPKEY: 'appkey-0123456789' };

describe('a store that is down', () => {
  let booted: Booted;
  let http: Awaited<ReturnType<typeof listen>>;
  beforeEach(async () => {
    booted = await boot({ policies: ['policies'], plugins: ['test/fixtures/broken-store/index.js'], store: 'broken://', env: ENV });
    http = await listen(createApp({ engine: booted.engine }));
  });
  afterEach(async () => {
    await http.close();
    await booted.store.close();
  });

  it('Melissa: issues nothing and answers TE06', async () => {
    const res = await fetch(`${http.url}/v3/json/Service.svc/RequestToken?L=licence-0123456789`);
    expect(await res.json()).to.deep.equal({ Result: 'TE06', Token: '' });
  });
  it('Electa: issues nothing and answers code 8', async () => {
    const res = await fetch(`${http.url}/apps/token.asp?CID=42&AppKey=appkey-0123456789&Result=csv`);
    expect(await res.text()).to.equal('8,Service temporarily unavailable');
  });
  it('emalidate: lets no token through (revocation cannot be checked) with 503 JSON', async () => {
    const issued = await fetch(`${http.url}/emalidate/token`, { method: 'POST' });
    const { token } = (await issued.json()) as { token: string };
    const res = await fetch(`${http.url}/emalidate/demo`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).to.equal(503);
    const text = await res.text();
    expect(JSON.parse(text)).to.deep.equal({ error: 'ERR_STORE_UNAVAILABLE', error_description: 'the token store is unavailable' });
    expect(text).to.not.include('ECONNREFUSED');
  });
});
