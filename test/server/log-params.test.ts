import { expect } from 'chai';
import { boot, type Booted } from '../../server/bootstrap.js';
import { createApp } from '../../server/app.js';
import { createLogger } from '../../server/logging.js';
import { loadPolicyText, type PolicyCatalog } from '../../core/policy/load.js';
import { PolicyInvalidError } from '../../core/errors.js';
import { listen } from '../helpers/http.js';
import { XDOC_ENV, XDOC_POLICY } from '../helpers/xdoc.js';

describe('server/request-log: log.params (the XWS method XM of the example XDOC policy)', () => {
  let booted: Booted;
  let http: Awaited<ReturnType<typeof listen>>;
  const lines: string[] = [];
  before(async () => {
    const logger = createLogger({ destination: { write: (line: string) => void lines.push(line) } });
    booted = await boot({ policies: [XDOC_POLICY], store: 'memory', env: XDOC_ENV });
    http = await listen(createApp({ engine: booted.engine, logger }));
  });
  after(async () => {
    await http.close();
    await booted.store.close();
  });
  const paramsOfLastLine = () => (JSON.parse(lines.at(-1) as string) as { params?: Record<string, string> }).params;

  it('shows an identifier-shaped XM, and (not shown) for free text or a forged line', async () => {
    const { query } = (await (await fetch(`${http.url}/xdoc/token`, { method: 'POST' })).json()) as { query: string };
    await fetch(`${http.url}/xdoc/demo?XM=Container.ContainerInfo&${query}`);
    expect(paramsOfLastLine()).to.deep.equal({ XM: 'Container.ContainerInfo' });
    await fetch(`${http.url}/xdoc/demo?XM=${encodeURIComponent('x"}\n{"level":60,"msg":"forged')}&${query}`);
    expect(paramsOfLastLine()).to.deep.equal({ XM: '(not shown)' });
    await fetch(`${http.url}/xdoc/demo?${query}`);
    expect(paramsOfLastLine()).to.equal(undefined);
  });
  it('is refused by check when it names a parameter that carries a secret or a token', () => {
    const catalog = booted.registry as unknown as PolicyCatalog;
    const text = 'id: e\nstyle: electa\nlog: { params: [RoomId, appKey] }\n';
    let messages: string[] = [];
    try {
      loadPolicyText(text, 'e.yaml', { catalog, env: {} });
    } catch (err) {
      if (!(err instanceof PolicyInvalidError)) throw err;
      messages = err.issues.map((i) => `${i.path} ${i.message}`);
    }
    expect(messages).to.deep.equal(["/log/params/1 log.params must not name appKey: the vendors' clients send a secret or a token in it"]);
  });
});
