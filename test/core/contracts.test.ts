import { expect } from 'chai';
import { ContainerModule } from 'inversify';
import { ManualClock } from '../../core/clock.js';
import { assemble } from '../../core/container.js';
import { TYPES } from '../../core/ids.js';
import { loadPolicyText } from '../../core/policy/load.js';
import type { MintedToken, PluginManifest, StyleInstance, TokenStyle } from '../../core/ports.js';
import { tokenRequestFrom } from '../../core/request.js';
import { builtinModules } from '../../plugins/index.js';
import { definePlugin } from '../../core/plugin.js';
import type { Guard } from '../../core/guard.js';

/** A promise-like that is not a native Promise, as another promise library (or hand-written code) makes. */
const thenable = <T>(value: T): PromiseLike<T> => ({
  // What this test is about: an object with `then` that is not a Promise.
  // oxlint-disable-next-line unicorn/no-thenable
  then: (resolve, reject) => Promise.resolve(value).then(resolve, reject) as never,
});

/** An outside opaque style whose `mint` and `create` answer with thenables. */
const thenableStyle = new ContainerModule(({ bind }) => {
  const style = {
    create: () =>
      thenable<StyleInstance>({
        readGrant: (request) => ({ secret: request.param('secret') }),
        presentedToken: (request) => request.param('token'),
        mint: () => thenable<MintedToken>({ token: `TH-${Math.random().toString(36).slice(2)}` }) as Promise<MintedToken>,
      }),
  } as unknown as TokenStyle;
  bind<TokenStyle>(TYPES.TokenStyle).toConstantValue(style).whenNamed('thenable');
  bind<PluginManifest>(TYPES.PluginManifest).toConstantValue({
    name: 'thenable',
    styles: [{ name: 'thenable', kind: 'opaque', settingsSchema: { type: 'object' }, settingsRequired: false }],
  });
});

describe('plain contracts', () => {
  it('awaits a thenable from a plugin as a promise: issue and verify work, and the store is not blamed', async () => {
    const { engine, registry, store } = await assemble({ modules: [...builtinModules, thenableStyle], clock: new ManualClock(0) });
    try {
      const { policies } = loadPolicyText('id: th\nstyle: thenable\ncredentials: [{ secret: s3cret-value }]\n', 'th.yaml', { catalog: registry, env: {} });
      await engine.load(policies);
      const { token } = await engine.issue('th', tokenRequestFrom({ secret: 's3cret-value' }, '127.0.0.1'));
      expect(token).to.match(/^TH-/);
      const record = await engine.verify('th', token, tokenRequestFrom({}, '127.0.0.1'));
      expect(record.policyId).to.equal('th');
    } finally {
      await store.close();
    }
  });

  it('refuses, when policies load, a guard whose create() answers with a promise, naming the guard', async () => {
    const lazy = definePlugin({ name: 'lazy', guards: [{ name: 'lazy', order: 1, keys: {}, codes: [], create: async () => ({}) as Guard }] as never });
    const { engine, registry, store } = await assemble({ modules: [...builtinModules, lazy], clock: new ManualClock(0) });
    try {
      const { policies } = loadPolicyText('id: th\nstyle: melissa\n', 'th.yaml', { catalog: registry, env: {} });
      let caught: (Error & { code?: string }) | undefined;
      try {
        await engine.load(policies);
      } catch (err) {
        caught = err as Error & { code?: string };
      }
      expect([caught?.code, caught?.message]).to.deep.equal([
        'ERR_PLUGIN_LOAD',
        'guard "lazy": create() must return the guard itself or undefined, not a promise (it runs once, when policies load)',
      ]);
    } finally {
      await store.close();
    }
  });

  it('fails closed, minting nothing, when a guard’s beforeMint answers with a promise (a refusal nobody would wait for)', async () => {
    const hasty = definePlugin({
      name: 'hasty',
      guards: [{ name: 'hasty', order: 1, keys: {}, codes: [], create: () => ({ beforeMint: (async () => { throw new Error('refused too late'); }) as never }) }],
    });
    const { engine, registry, store } = await assemble({ modules: [...builtinModules, hasty], clock: new ManualClock(0) });
    try {
      const { policies } = loadPolicyText('id: th\nstyle: melissa\n', 'th.yaml', { catalog: registry, env: {} });
      await engine.load(policies);
      let caught: (Error & { code?: string }) | undefined;
      try {
        await engine.issue('th', tokenRequestFrom({ L: 'any-licence-0123' }, '127.0.0.1'));
      } catch (err) {
        caught = err as Error & { code?: string };
      }
      expect(caught?.code).to.equal('ERR_INTERNAL');
      expect((store as unknown as { size: number }).size).to.equal(0);
    } finally {
      await store.close();
    }
  });
});
