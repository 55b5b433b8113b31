import { expect } from 'chai';
import { host, type Host } from '../helpers/host.js';

describe('server/app: route paths and letter case', () => {
  let h: Host;
  before(async () => {
    h = await host(['policies/emalidate.yaml', 'policies/electa.yaml'], {});
  });
  after(() => h.close());

  it('matches a policy with paths.caseInsensitive in any ASCII case', async () => {
    const res = await fetch(`${h.url}/APPS/Token.ASP?cid=123456&appkey=UO86CN11XY73SF72TT40PG18ZE76VV71&result=csv`);
    expect(await res.text()).to.match(/^0,[0-9A-F-]{36}$/);
  });
  it('keeps exact matching for a policy without it (emalidate)', async () => {
    expect((await fetch(`${h.url}/emalidate/token`, { method: 'POST' })).status).to.equal(200);
    const res = await fetch(`${h.url}/Emalidate/Token`, { method: 'POST' });
    expect(res.status).to.equal(404);
    expect(((await res.json()) as { error: string }).error).to.equal('ERR_NOT_FOUND');
  });
  it('does not let a non-ASCII letter that folds to ASCII (the Kelvin sign) reach a route', async () => {
    const res = await fetch(`${h.url}/apps/to%E2%84%AAen.asp?cid=1`);
    expect(res.status).to.equal(404);
  });
});
