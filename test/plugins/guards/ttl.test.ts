import { expect } from 'chai';
import { clampTtl, lifetimeFor } from '../../../plugins/guards/ttl/index.js';
import type { Policy } from '../../../core/policy/types.js';

describe('plugins/guards/ttl clampTtl', () => {
  const policy = { ttl: { defaultMs: 300_000, minMs: 60_000, maxMs: 3_600_000 } } as Policy;
  it('uses the default when nothing is asked', () => expect(clampTtl(policy, undefined)).to.equal(300_000));
  it('keeps a value inside the bounds', () => expect(clampTtl(policy, 120_000)).to.equal(120_000));
  it('raises to min', () => expect(clampTtl(policy, 1)).to.equal(60_000));
  it('lowers to max', () => expect(clampTtl(policy, 99 * 3_600_000)).to.equal(3_600_000));
});

describe('plugins/guards/ttl lifetimeFor', () => {
  const policy = { ttl: { defaultMs: 300_000, minMs: 60_000, maxMs: 356_400_000 } } as Policy;
  it('clamps what the caller asks', () => expect(lifetimeFor(policy, {}, 99 * 3_600_000)).to.equal(356_400_000));
  it('gives the default on a preset route, whatever the caller asks', () => expect(lifetimeFor(policy, { preset: true }, 99 * 3_600_000)).to.equal(300_000));
});
