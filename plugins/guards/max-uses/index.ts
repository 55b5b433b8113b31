import type { GuardPlugin } from '../../../core/guard.js';
import { StoreFullError, TokenReusedError, type ErrorCode } from '../../../core/errors.js';
import { definePlugin } from '../../../core/plugin.js';
import { hasCounterRoom } from '../../../core/ports.js';

/**
 * Use-count guard (`maxUses: N`): a token verifies at most N times; the next presentation is
 * refused with `ERR_TOKEN_REUSED`, as a single-use token's second one is. `maxUses: 1` is single
 * use. With `reuse: false` as well, both guards apply and the stricter wins: the token is single
 * use (the conformance kit's single-use variant of a policy adds `reuse: false` to it).
 *
 * The count is the store's atomic `increment` on a key of the token's id, kept as long as the
 * token lives, so it is the same for opaque and self-contained tokens and across every host
 * sharing the store: of any number of concurrent presentations, exactly N pass. It runs last,
 * after every guard that may refuse, so that only a presentation every other rule let through
 * is counted; introspection and revocation count nothing.
 *
 * In the memory store a count is a counter within `maxCounters`: when there is no room for one
 * more, the presentation is refused with `ERR_STORE_FULL` rather than counted nowhere.
 */
export const maxUsesGuard: GuardPlugin = {
  name: 'max-uses',
  order: 950,
  keys: {
    maxUses: {
      type: 'integer',
      minimum: 1,
      maximum: 1_000_000,
      description: 'how many times one token may be presented (verified); the next is refused with ERR_TOKEN_REUSED. 1 = single use. Introspection does not count',
    },
  },
  codes: ['ERR_TOKEN_REUSED', 'ERR_STORE_FULL'] satisfies ErrorCode[],
  create(policy, { store, clock }) {
    const max = policy.rules['maxUses'] as number | undefined;
    if (max === undefined) return undefined;
    const room = hasCounterRoom(store) ? store : undefined;
    const refusal = `the token was already used ${max} ${max === 1 ? 'time' : 'times'}`;
    return {
      async onVerify({ presented, record }) {
        if (!presented) return;
        if (room !== undefined && !(await room.roomForCounters(1))) throw new StoreFullError('the token store is full; try again later', { policyId: policy.id });
        const { count } = await store.increment(`${policy.id}:uses:${record.tokenId}`, Math.max(1, record.expiresAt - clock.now()));
        if (count > max) throw new TokenReusedError(refusal, { policyId: policy.id });
      },
    };
  },
};

/** Registers the `max-uses` guard. */
export default definePlugin({ name: 'max-uses', guards: [maxUsesGuard] });
