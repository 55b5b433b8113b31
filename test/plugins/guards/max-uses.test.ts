import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../core/clock.js';
import { tokenRequestFrom } from '../../../core/request.js';
import { boot } from '../../../server/bootstrap.js';
import { describeConformance } from '../../../server/testkit/index.js';
import { rejection, T0 } from '../../helpers/boot.js';

const POLICY = 'test/fixtures/bulk-revoke/limited-api.yaml';

describe('plugins/guards/max-uses', () => {
  it('with reuse: false as well, makes the token single use (the stricter rule wins)', async () => {
    const text = readFileSync(POLICY, 'utf8').replace('maxUses: 3', 'maxUses: 3\nreuse: false');
    const dir = mkdtempSync(join(tmpdir(), 'ts-max-uses-'));
    writeFileSync(join(dir, 'limited-api.yaml'), text);
    const booted = await boot({ policies: [dir], store: 'memory', env: {}, clock: new ManualClock(T0) });
    try {
      const request = tokenRequestFrom({}, '127.0.0.1');
      const { token } = await booted.engine.issue('limited-api', request);
      await booted.engine.verify('limited-api', token, request);
      expect((await rejection(() => booted.engine.verify('limited-api', token, request))).code).to.equal('ERR_TOKEN_REUSED');
    } finally {
      await booted.store.close();
    }
  });

  it('on a memory store with no room for one more counter, refuses the presentation with ERR_STORE_FULL rather than count it nowhere', async () => {
    const booted = await boot({ policies: [POLICY], store: 'memory:?maxEntries=100&maxCounters=2', env: {}, clock: new ManualClock(T0) });
    try {
      const { engine } = booted;
      const request = tokenRequestFrom({}, '127.0.0.1');
      const tokens: string[] = [];
      for (let i = 0; i < 3; i++) tokens.push((await engine.issue('limited-api', request)).token);
      await engine.verify('limited-api', tokens[0], request);
      await engine.verify('limited-api', tokens[1], request);
      expect((await rejection(() => engine.verify('limited-api', tokens[2], request))).code).to.equal('ERR_STORE_FULL');
    } finally {
      await booted.store.close();
    }
  });

  // The kit's guard-rule check, on the built-in guard: three verifications, the fourth refused.
  describeConformance('max-uses guard (built-in)', {
    policy: POLICY,
    recipe: { issue: {}, present: 'bearer', guard: { verifies: 3, code: 'ERR_TOKEN_REUSED' } },
  });
});
