import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boot, type Booted } from '../../server/bootstrap.js';
import { createApp, type AppOptions } from '../../server/app.js';
import { AdminCredentials, AdminCredentialsError, loadAdminCredentials, type AdminCredential } from '../../server/admin-credentials.js';
import { listen } from '../helpers/http.js';
import { ADMIN_SECRET, formPost } from '../helpers/host.js';

const ENV = { ELECTA_CID: '42', ELECTA_APPKEY: 'ADMIN-CREDS-TEST-APPKEY-0123456789' };
const OPS = 'ops-secret-0123456789-abcdef';
const READER = 'reader-secret-0123456789-abcdef';
const SCRAPER = 'scraper-secret-0123456789-abcdef';
const CREDENTIALS: AdminCredential[] = [
  { name: 'ops', secret: OPS, actions: ['introspect', 'revoke', 'lockouts'] },
  { name: 'reader', secret: READER, actions: ['introspect'] },
  { name: 'scraper', secret: SCRAPER, actions: ['metrics'] },
];

describe('server/admin: scoped admin credentials (over a real socket)', () => {
  let booted: Booted;
  let http: Awaited<ReturnType<typeof listen>>;
  async function start(options: Partial<AppOptions>): Promise<void> {
    booted = await boot({ policies: ['policies/emalidate.yaml'], store: 'memory', env: ENV });
    http = await listen(createApp({ engine: booted.engine, ...options }));
  }
  afterEach(async () => {
    await http.close();
    await booted.store.close();
  });
  const token = async (): Promise<string> => ((await (await fetch(`${http.url}/emalidate/token`, { method: 'POST' })).json()) as { token: string }).token;
  const call = (route: string, secret: string | undefined, params: Record<string, string>) =>
    fetch(`${http.url}/${route}`, formPost(params, secret === undefined ? {} : { authorization: `Bearer ${secret}` }));

  it('lets each credential do its actions, answers 403 ERR_ADMIN_FORBIDDEN for others, 401 for a wrong or missing secret', async () => {
    await start({ adminCredentials: CREDENTIALS });
    const t = await token();
    const read = await call('introspect', READER, { token: t });
    expect(read.status).to.equal(200);
    expect(((await read.json()) as { active: boolean }).active).to.equal(true);

    const forbidden = await call('revoke', READER, { token: t });
    expect(forbidden.status).to.equal(403);
    expect(forbidden.headers.get('content-type')).to.match(/^application\/json/);
    expect(await forbidden.json()).to.deep.equal({ error: 'ERR_ADMIN_FORBIDDEN', error_description: 'this admin credential may not revoke' });
    // The refused revocation revoked nothing.
    expect(((await (await call('introspect', OPS, { token: t })).json()) as { active: boolean }).active).to.equal(true);

    for (const secret of ['wrong-secret-0123456789', undefined, `${READER}x`, READER.slice(0, -1)]) {
      const res = await call('introspect', secret, { token: t });
      expect(res.status, String(secret)).to.equal(401);
      expect(res.headers.get('www-authenticate')).to.equal('Bearer realm="tokensmith-admin"');
      expect(((await res.json()) as { error: string }).error).to.equal('ERR_ADMIN_UNAUTHORIZED');
    }
    // A metrics-only credential is known but may do nothing else: 403, not 401.
    expect((await call('introspect', SCRAPER, { token: t })).status).to.equal(403);

    expect((await call('revoke', OPS, { token: t })).status).to.equal(200);
    expect(((await (await call('introspect', READER, { token: t })).json()) as { active: boolean }).active).to.equal(false);
  });

  it('keeps the single TOKENSMITH_ADMIN_SECRET working as a credential allowed every action, beside named ones', async () => {
    await start({ adminSecret: ADMIN_SECRET, adminCredentials: CREDENTIALS });
    const t = await token();
    expect((await call('introspect', ADMIN_SECRET, { token: t })).status).to.equal(200);
    expect((await call('revoke', ADMIN_SECRET, { token: t })).status).to.equal(200);
    expect((await call('introspect', READER, { token: t })).status).to.equal(200);
    expect((await call('revoke', 'not-the-admin-secret', { token: t })).status).to.equal(401);
  });

  it('with TOKENSMITH_METRICS=admin, /metrics answers the credentials allowed metrics (and "all"), 403 others, 401 without one', async () => {
    await start({ adminSecret: ADMIN_SECRET, adminCredentials: CREDENTIALS, metricsEndpoint: 'admin' });
    const scrape = (secret?: string) => fetch(`${http.url}/metrics`, { headers: secret === undefined ? {} : { authorization: `Bearer ${secret}` } });
    const ok = await scrape(SCRAPER);
    expect(ok.status).to.equal(200);
    expect(await ok.text()).to.include('tokensmith_policies 1');
    expect((await scrape(ADMIN_SECRET)).status).to.equal(200);
    const other = await scrape(OPS);
    expect(other.status).to.equal(403);
    expect(((await other.json()) as { error: string }).error).to.equal('ERR_ADMIN_FORBIDDEN');
    const none = await scrape();
    expect(none.status).to.equal(401);
    expect(none.headers.get('www-authenticate')).to.equal('Bearer realm="tokensmith-metrics"');
    expect(((await none.json()) as { error: string }).error).to.equal('ERR_METRICS_UNAUTHORIZED');
  });

  it('keeps /metrics open by default, whatever admin credentials exist', async () => {
    await start({ adminCredentials: CREDENTIALS });
    expect((await fetch(`${http.url}/metrics`)).status).to.equal(200);
  });
});

describe('server/admin-credentials', () => {
  describe('AdminCredentials.match', () => {
    const admins = new AdminCredentials(CREDENTIALS);
    it('names the credential whose secret the Bearer header carries, the last one included', () => {
      expect(admins.match(`Bearer ${OPS}`)?.name).to.equal('ops');
      expect(admins.match(`bearer   ${SCRAPER} `)?.name).to.equal('scraper');
      expect(admins.match(`Bearer ${READER}`)?.actions).to.deep.equal(['introspect']);
    });
    it('matches nothing for a wrong, empty or malformed header', () => {
      for (const header of ['', 'Bearer', 'Bearer ', `Basic ${OPS}`, `Bearer ${OPS} extra`, `Bearer ${OPS.toUpperCase()}`, OPS]) {
        expect(admins.match(header), header).to.equal(undefined);
      }
    });
    it('refuses a set where two credentials share a name or a secret, or name an unknown action', () => {
      expect(() => new AdminCredentials([...CREDENTIALS, { name: 'ops', secret: 'another-secret-0123456789', actions: 'all' }])).to.throw(AdminCredentialsError, 'admin credential name "ops" is given twice');
      expect(() => new AdminCredentials([...CREDENTIALS, { name: 'ops2', secret: OPS, actions: 'all' }])).to.throw(AdminCredentialsError, 'admin credential "ops2" has the same secret as another one');
      expect(() => new AdminCredentials([{ name: 'x', secret: OPS, actions: ['delete' as 'revoke'] }])).to.throw(AdminCredentialsError, 'unknown action "delete"');
    });
  });

  describe('loadAdminCredentials', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-admin-creds-'));
    const file = (name: string, text: string): string => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    it('reads a YAML list with literal, ${env:…} and ${file:…} secrets (a file relative to the list)', () => {
      file('scrape.secret', `${SCRAPER}\n`);
      const path = file('admins.yaml', ['- name: ops', '  secret: ${env:OPS_SECRET}', '  actions: [introspect, revoke]', '- name: scraper', '  secret: ${file:scrape.secret}', '  actions: [metrics]', '- name: root', `  secret: ${READER}`, '  actions: all', ''].join('\n'));
      expect(loadAdminCredentials(path, { OPS_SECRET: OPS })).to.deep.equal([
        { name: 'ops', secret: OPS, actions: ['introspect', 'revoke'] },
        { name: 'scraper', secret: SCRAPER, actions: ['metrics'] },
        { name: 'root', secret: READER, actions: 'all' },
      ]);
    });
    it('reads the same as JSON', () => {
      const path = file('admins.json', JSON.stringify([{ name: 'ops', secret: OPS, actions: ['lockouts'] }]));
      expect(loadAdminCredentials(path, {})).to.deep.equal([{ name: 'ops', secret: OPS, actions: ['lockouts'] }]);
    });
    const cases: [string, string, Record<string, string>, string][] = [
      ['unset variable', '- { name: ops, secret: "${env:NOPE}", actions: all }', {}, 'entry 1 (ops): ${env:NOPE} is not set'],
      ['demo default', '- { name: ops, secret: "${env:NOPE:-fallback-secret-0123456789}", actions: all }', {}, 'may not fall back to a default'],
      ['short secret', `- { name: ops, secret: short-one, actions: all }`, {}, 'at least 16 characters'],
      ['unknown action', `- { name: ops, secret: ${OPS}, actions: [introspect, delete] }`, {}, 'unknown action "delete"'],
      ['no actions', `- { name: ops, secret: ${OPS} }`, {}, 'actions must be all or a non-empty list'],
      ['unknown key', `- { name: ops, secret: ${OPS}, actions: all, role: admin }`, {}, 'unknown key "role"'],
      ['reserved name', `- { name: admin-secret, secret: ${OPS}, actions: all }`, {}, 'the name is kept for TOKENSMITH_ADMIN_SECRET'],
      ['bad name', `- { name: "ops team", secret: ${OPS}, actions: all }`, {}, 'name must be 1–64 letters'],
      ['not a list', `ops: ${OPS}`, {}, 'must be a non-empty list'],
      ['bad YAML', `- { name: ops, secret: ${OPS}, actions: [all`, {}, 'is not valid YAML or JSON'],
    ];
    for (const [what, text, env, message] of cases) {
      it(`says what is wrong, without the secret: ${what}`, () => {
        const path = file(`${what.replace(/\W/g, '-')}.yaml`, text);
        let error: unknown;
        try {
          loadAdminCredentials(path, env);
        } catch (err) {
          error = err;
        }
        expect(error).to.be.instanceOf(AdminCredentialsError);
        expect((error as Error).message).to.include(message);
        expect((error as Error).message).to.not.include(OPS);
        expect((error as Error).message).to.not.include('fallback-secret');
      });
    }
    it('says a missing file is missing', () => {
      expect(() => loadAdminCredentials(join(dir, 'none.yaml'), {})).to.throw(AdminCredentialsError, 'cannot read');
    });
  });
});
