import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { redactRedisUrl, redisUrlOptions } from '../../../plugins/stores/redis/options.js';
import { tempDir } from '../../helpers/redis-topology.js';

/** The error a URL gets, for checking its code and that its message never shows the password. */
function refusal(url: string): { code: string; message: string } {
  try {
    redisUrlOptions(url);
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error(`accepted: ${url}`);
}

describe('plugins/stores/redis options: the store URLs', () => {
  it('reads one server, with ACL user and password, database, prefix and wait', () => {
    expect(redisUrlOptions('redis://app:s%40cret@10.0.0.5:6380/3?prefix=ts:&wait=1&waitTimeoutMs=100')).to.deep.equal({
      mode: 'single', nodes: [{ host: '10.0.0.5', port: 6380 }], db: 3, username: 'app', password: 's@cret', prefix: 'ts:', wait: 1, waitTimeoutMs: 100,
    });
    expect(redisUrlOptions('redis://[::1]')).to.deep.equal({ mode: 'single', nodes: [{ host: '::1', port: 6379 }], db: 0, wait: 0, waitTimeoutMs: 250 });
    expect(redisUrlOptions('redis://:only-password@h/').password).to.equal('only-password');
  });

  it('reads sentinels, the primary name, sentinel credentials, and a cluster’s seed nodes', () => {
    expect(redisUrlOptions('redis+sentinel://u:p@s1:26379,s2,[::1]:26380/mymaster/2?sentinelPassword=sp%26x')).to.deep.equal({
      mode: 'sentinel',
      nodes: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }, { host: '::1', port: 26380 }],
      primaryName: 'mymaster', db: 2, username: 'u', password: 'p', sentinelPassword: 'sp&x', wait: 0, waitTimeoutMs: 250,
    });
    expect(redisUrlOptions('redis+cluster://n1:7000,n2:7001,n3:7002')).to.deep.include({
      mode: 'cluster', nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }, { host: 'n3', port: 7002 }], db: 0,
    });
  });

  it('reads TLS files for rediss://, and refuses TLS settings on a clear-text scheme', () => {
    const dir = tempDir('url');
    try {
      writeFileSync(join(dir.path, 'ca.pem'), 'CA');
      writeFileSync(join(dir.path, 'c.pem'), 'CERT');
      writeFileSync(join(dir.path, 'k.pem'), 'KEY');
      const tls = redisUrlOptions(`rediss://h:6390/0?ca=${dir.path}/ca.pem&cert=${dir.path}/c.pem&key=${dir.path}/k.pem&servername=redis.internal`).tls;
      expect(tls?.ca?.toString()).to.equal('CA');
      expect(tls?.cert?.toString()).to.equal('CERT');
      expect(tls?.key?.toString()).to.equal('KEY');
      expect(tls?.servername).to.equal('redis.internal');
      expect(redisUrlOptions('rediss+cluster://n1:7000').tls).to.deep.equal({});
      expect(refusal(`redis://h/0?ca=${dir.path}/ca.pem`).message).to.include('rediss');
      expect(refusal(`rediss://h/0?cert=${dir.path}/c.pem`).message).to.include('cert and key go together');
      expect(refusal(`rediss://h/0?ca=${dir.path}/missing.pem`).message).to.include('cannot read the ca file').and.include('ENOENT');
    } finally {
      dir.remove();
    }
  });

  it('refuses malformed URLs with ERR_STORE_OPTIONS and a message that names the wrong part', () => {
    const cases: [string, string][] = [
      ['redis://h:99999/0', 'HOST:PORT'],
      ['redis://h:0', 'HOST:PORT'],
      ['redis://a:1,b:2/0', 'one host only'],
      ['redis://h/zero', 'database'],
      ['redis://h/0/1', 'at most one path part'],
      ['redis+sentinel://s1:26379', "primary's name"],
      ['redis+sentinel://s1:26379/my master', "primary's name"],
      ['redis+cluster://n1:7000/1', 'only database 0'],
      ['redis+cluster://n1:7000,,n3:7002', 'address 2 of the host list'],
      ['redis://h/0?wait=-1', 'wait must be'],
      ['redis://h/0?wait=17', 'wait must be'],
      ['redis://h/0?waitTimeoutMs=0', 'waitTimeoutMs'],
      ['redis://h/0?wait=1&wait=2', 'given twice'],
      ['redis://h/0?db=1', 'unknown "db"'],
      ['redis://h/0?sentinelPassword=x', 'only for redis+sentinel'],
      ['redis://h/0?prefix={ts}:', 'prefix'],
      ['redis+foo://h/0', 'expected one of'],
      ['redis://u:%zz@h/0', 'percent-encoding'],
    ];
    for (const [url, part] of cases) {
      const error = refusal(url);
      expect(error.code, url).to.equal('ERR_STORE_OPTIONS');
      expect(error.message, url).to.include(part);
    }
  });

  it('never shows a password, even one written unencoded where it breaks the URL', () => {
    const cases = [
      'redis://user:hun?ter2@h/0',
      'redis://user:hunter2@h:notaport/0',
      'redis+sentinel://user:hunter2@s1:x,s2/m',
      'redis://user:hunter2%zz@h/0',
      'redis://h/0?sentinelPassword=hunter2&xyzzy=1',
      'redis+sentinel://s1/m?sentinelPassword=hunter2&xyzzy',
      'redis+cluster://user:hun/ter2@n1:70000',
    ];
    for (const url of cases) {
      const { code, message } = refusal(url);
      expect(code, url).to.equal('ERR_STORE_OPTIONS');
      for (const part of ['hun', 'ter2', 'xyzzy']) expect(message, url).to.not.include(part);
    }
  });

  it('redacts passwords when a URL is shown', () => {
    expect(redactRedisUrl('redis+sentinel://u:secret@s1,s2/m?sentinelPassword=other&wait=1')).to.equal('redis+sentinel://u:***@s1,s2/m?sentinelPassword=***&wait=1');
    expect(redactRedisUrl('rediss://:p/a@ss@h:1/0')).to.equal('rediss://:***@h:1/0');
    expect(redactRedisUrl('redis://h:1/0')).to.equal('redis://h:1/0');
  });
});
