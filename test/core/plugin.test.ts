import { expect } from 'chai';
import { Container } from 'inversify';
import { TYPES } from '../../core/ids.js';
import { definePlugin } from '../../core/plugin.js';
import type { PluginManifest, ReplyEncoder, StoreFactory, TokenStyle } from '../../core/ports.js';

describe('core/plugin definePlugin', () => {
  const style: TokenStyle = { create: async () => ({ readGrant: () => ({}), presentedToken: () => undefined, mint: async () => ({ token: 't' }) }) };
  const encoder: ReplyEncoder = { encode: () => ({ status: 200, contentType: 'text/plain', body: '' }) };
  const factory = (() => undefined) as unknown as StoreFactory;
  const check = () => [];
  const plugin = definePlugin({
    name: 'demo',
    styles: { demo: { kind: 'opaque', settingsSchema: { type: 'object' }, check, style } },
    encoders: { 'demo-text': encoder },
    stores: { demo: factory },
  });

  it('makes the manifest from the description: each name once, the style entry without the style object', () => {
    expect(plugin.manifest).to.deep.equal({
      name: 'demo',
      styles: [{ name: 'demo', kind: 'opaque', settingsSchema: { type: 'object' }, settingsRequired: false, check }],
      encoders: ['demo-text'],
      stores: ['demo'],
      guards: [],
    });
  });

  describe('when its module is loaded', () => {
    it('binds every part under its name, and the manifest', () => {
      const container = new Container();
      container.load(plugin);
      expect(container.get(TYPES.TokenStyle, { name: 'demo' })).to.equal(style);
      expect(container.get(TYPES.ReplyEncoder, { name: 'demo-text' })).to.equal(encoder);
      expect(container.get(TYPES.StoreFactory, { name: 'demo' })).to.equal(factory);
      expect(container.getAll<PluginManifest>(TYPES.PluginManifest)).to.deep.equal([plugin.manifest]);
    });
    it('lists empty kinds for what the plugin does not provide', () => {
      expect(definePlugin({ name: 'only-json', encoders: { json2: encoder } }).manifest).to.deep.equal({ name: 'only-json', styles: [], encoders: ['json2'], stores: [], guards: [] });
    });
  });
});
