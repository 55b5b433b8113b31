import { expect } from 'chai';
import { RedisStore } from '../../../plugins/stores/redis/index.js';
import { main } from '../../../server/cli.js';
import { makeCertificates, startTlsRedis, until, type RedisProcess, type TestCertificates } from '../../helpers/redis-topology.js';

const USER = { name: 'tokensmith', password: 'tls-acl-password-0123' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a store becomes ready within `ms` (it keeps trying; a refused handshake never is). */
async function readyWithin(store: RedisStore, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await store.ready()) return true;
    await sleep(50);
  }
  return false;
}

/**
 * `rediss://` on a real redis-server speaking only TLS, with a CA and certificates made by
 * `openssl` here: the client checks the server's certificate and its name, and shows its own.
 */
describe('plugins/stores/redis over TLS (real redis-server, a test CA made by openssl)', function () {
  this.timeout(30_000);
  let certs: TestCertificates;
  let server: RedisProcess;
  let otherName: RedisProcess;
  const url = (host: string, port: number, query: Record<string, string>, user = `${USER.name}:${USER.password}@`) =>
    `rediss://${user}${host}:${port}/0?${new URLSearchParams(query).toString()}`;
  let full: Record<string, string>;

  before(async () => {
    certs = await makeCertificates();
    full = { ca: certs.file('ca.crt'), cert: certs.file('client.crt'), key: certs.file('client.key') };
    server = await startTlsRedis(certs, 'server', USER);
    otherName = await startTlsRedis(certs, 'other', USER);
  });
  after(async () => {
    await server?.kill();
    await otherName?.kill();
    certs?.remove();
  });

  it('stores and reads over TLS with the CA, a client certificate and the ACL user, by name and by address', async () => {
    for (const host of ['localhost', '127.0.0.1']) {
      const store = new RedisStore(url(host, server.port, full), { prefix: 'tls:' });
      try {
        await until(() => store.ready(), 10_000, `the TLS store ready at ${host}`);
        await store.put('k', host, 60_000);
        expect(await store.get('k')).to.equal(host);
      } finally {
        await store.close();
      }
    }
  });

  it('refuses a server whose certificate names another host, unless servername says that name is expected', async () => {
    const wrongName = new RedisStore(url('localhost', otherName.port, full));
    try {
      expect(await readyWithin(wrongName, 1_500), 'certificate for other.example, connecting to localhost').to.equal(false);
    } finally {
      await wrongName.close();
    }
    const named = new RedisStore(url('127.0.0.1', otherName.port, { ...full, servername: 'other.example' }));
    try {
      await until(() => named.ready(), 10_000, 'the store ready with servername=other.example');
    } finally {
      await named.close();
    }
  });

  it('refuses a server not signed by the given CA, and fails without a client certificate or with a wrong password', async () => {
    const cases: [string, string][] = [
      ['no CA: the server is not trusted', url('localhost', server.port, { cert: full['cert'] as string, key: full['key'] as string })],
      ['no client certificate', url('localhost', server.port, { ca: full['ca'] as string })],
      ['a wrong password', url('localhost', server.port, full, `${USER.name}:wrong-password@`)],
    ];
    for (const [label, address] of cases) {
      const store = new RedisStore(address);
      try {
        expect(await readyWithin(store, 1_500), label).to.equal(false);
      } finally {
        await store.close();
      }
    }
  });

  it('the command line refuses a store it cannot reach, naming the URL without its password', async () => {
    const err: string[] = [];
    const env = { ELECTA_CID: '42', ELECTA_APPKEY: 'tls-appkey-0123456789', MELISSA_LICENSE: 'tls-licence-0123' };
    const store = url('localhost', server.port, { ca: full['ca'] as string });
    const code = await main(['verify', '--policy', 'electa', '--store', store, '--param', 'CID=42', 'A-GUID'], {
      out: () => {}, err: (t) => err.push(t), env, storeWaitMs: 300,
    });
    expect(code).to.not.equal(0);
    const text = err.join('\n');
    expect(text).to.include('cannot reach the store');
    expect(text).to.include(':***@');
    expect(text).to.not.include(USER.password);
  });
});
