import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../core/clock.js';
import { tokenRequestFrom } from '../../../core/request.js';
import { LockoutAdmin } from '../../../plugins/guards/lockout/index.js';
import { createApp } from '../../../server/app.js';
import { boot, type Booted } from '../../../server/bootstrap.js';
import { T0, rejection } from '../../helpers/boot.js';
import { listen } from '../../helpers/http.js';

const APPKEY = 'escalation-appkey-0123456789abcdef';
const ENV = { ELECTA_CID: '42', ELECTA_APPKEY: APPKEY };
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** policies/electa.yaml with another `lockout` line, in a temporary folder. */
function electaWith(lockout: string): string {
  const text = readFileSync('policies/electa.yaml', 'utf8');
  const line = 'lockout: { threshold: 5, window: 15m, duration: 15m, per: [credential] }';
  if (!text.includes(line)) throw new Error(`policies/electa.yaml no longer has "${line}"`);
  const file = join(mkdtempSync(join(tmpdir(), 'ts-escalation-')), 'electa.yaml');
  writeFileSync(file, text.replace(line, lockout));
  return file;
}

const ESCALATING = 'lockout: { threshold: 2, window: 15m, duration: 15m, per: [credential], escalation: { factor: 2, max: 1h, permanentAfter: 3, resetAfter: 1d } }';

describe('plugins/guards/lockout escalation (policy key lockout.escalation, injected clock)', () => {
  let booted: Booted;
  let clock: ManualClock;
  const request = (cid: string, appKey: string) => tokenRequestFrom({ CID: cid, AppKey: appKey, Result: 'csv' }, '10.0.0.1');
  /** Locks `cid` with two wrong keys; the refusal of the right key that follows. */
  const lock = async (cid = '42') => {
    for (let i = 0; i < 2; i++) expect((await rejection(() => booted.engine.issue('electa', request(cid, 'wrong')))).code).to.equal('ERR_CREDENTIAL_INVALID');
    const refused = await rejection(() => booted.engine.issue('electa', request(cid, APPKEY)));
    expect(refused.code).to.equal('ERR_LOCKED_OUT');
    return refused as Error & { retryAfterMs?: number; headers?: Record<string, string> };
  };
  const admin = () => new LockoutAdmin(booted.store, clock);

  beforeEach(async () => {
    clock = new ManualClock(T0);
    booted = await boot({ policies: [electaWith(ESCALATING)], store: 'memory', env: ENV, clock });
  });
  afterEach(async () => {
    await booted.store.close();
  });

  it('makes each further lock of a key last factor times longer, up to max', async () => {
    const lengths: (number | undefined)[] = [];
    for (let n = 0; n < 4; n++) {
      const refused = await lock('77'); // an id the policy does not list: never locked for good
      lengths.push(refused.retryAfterMs);
      clock.advance(refused.retryAfterMs ?? 0);
    }
    expect(lengths).to.deep.equal([15 * MINUTE, 30 * MINUTE, 60 * MINUTE, 60 * MINUTE]);
  });

  it('locks a listed credential id for good after permanentAfter temporary locks: no Retry-After, listed as permanent, lifted only by an operator', async () => {
    for (const minutes of [15, 30, 60]) {
      const refused = await lock();
      expect(refused.retryAfterMs).to.equal(minutes * MINUTE);
      clock.advance(minutes * MINUTE);
    }
    const permanent = await lock();
    expect(permanent.retryAfterMs).to.equal(undefined);
    expect(permanent.headers?.['retry-after']).to.equal(undefined);
    expect(permanent.message).to.equal('too many failed attempts: locked until an operator lifts the lock');
    clock.advance(365 * DAY);
    expect((await rejection(() => booted.engine.issue('electa', request('42', APPKEY)))).code).to.equal('ERR_LOCKED_OUT');
    const [listed] = await admin().list(booted.engine.policy('electa'));
    expect(listed).to.deep.include({ kind: 'credential', credential_id: '42', permanent: true, until: null, lock_number: 4, failures: 2 });
    await admin().unlock(booted.engine.policy('electa'), { credentialId: '42' });
    expect((await booted.engine.issue('electa', request('42', APPKEY))).record.credentialId).to.equal('42');
    // Lifting forgets the history too: the next lock is a first one again.
    expect((await lock()).retryAfterMs).to.equal(15 * MINUTE);
  });

  it('answers a permanent lock over HTTP without Retry-After, in the vendor format', async () => {
    const http = await listen(createApp({ engine: booted.engine }));
    try {
      for (const minutes of [15, 30, 60]) {
        await lock();
        clock.advance(minutes * MINUTE);
      }
      await lock();
      const res = await fetch(`${http.url}/apps/token.asp?CID=42&AppKey=${APPKEY}&Result=csv`);
      expect(res.headers.get('retry-after')).to.equal(null);
      expect(await res.text()).to.equal('2,API access is locked after too many failed attempts; ask the administrator to unlock it');
    } finally {
      await http.close();
    }
  });

  it('forgets a key’s locks resetAfter after the last one ended', async () => {
    clock.advance((await lock()).retryAfterMs ?? 0);
    clock.advance((await lock()).retryAfterMs ?? 0);
    clock.advance(DAY - 1);
    expect((await lock()).retryAfterMs, 'still remembered a moment before resetAfter').to.equal(60 * MINUTE);
    clock.advance(60 * MINUTE + DAY);
    expect((await lock()).retryAfterMs).to.equal(15 * MINUTE);
  });

  it('keeps every lock at duration without escalation, and a policy’s lengths within bounds', async () => {
    await booted.store.close();
    booted = await boot({ policies: [electaWith('lockout: { threshold: 2, window: 15m, duration: 15m, per: [credential] }')], store: 'memory', env: ENV, clock });
    for (let n = 0; n < 5; n++) {
      const refused = await lock();
      expect(refused.retryAfterMs).to.equal(15 * MINUTE);
      clock.advance(15 * MINUTE);
    }
    for (const [lockout, message] of [
      ['lockout: { threshold: 2, window: 15m, duration: 30m, per: [credential], escalation: { max: 15m } }', '/lockout/escalation/max: max must be at least duration'],
      ['lockout: { threshold: 2, window: 15m, duration: 15m, per: [credential], escalation: { max: 400d } }', '/lockout/escalation/max: a lock lasts at most 365d'],
      ['lockout: { threshold: 2, window: 15m, duration: 400d, per: [credential] }', '/lockout/duration: a lock lasts at most 365d'],
      ['lockout: { threshold: 2, window: 15m, duration: 15m, per: [credential], escalation: { resetAfter: 400d } }', '/lockout/escalation/resetAfter: locks are remembered at most 365d'],
      ['lockout: { threshold: 2, window: 15m, duration: 15m, per: [credential], escalation: {} }', '/lockout/escalation'],
      ['lockout: { threshold: 2, window: 15m, duration: 15m, per: [credential], escalation: { factor: 0.5 } }', '/lockout/escalation/factor'],
    ] as const) {
      const err = await rejection(() => boot({ policies: [electaWith(lockout)], store: 'memory', env: ENV, clock }));
      expect(err.code, lockout).to.equal('ERR_POLICY_INVALID');
      expect(err.message, lockout).to.include(message);
    }
  });
});
