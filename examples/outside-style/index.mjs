// An outside token style, as its own package: `stamp` mints opaque `STAMP-<hex>` tokens that
// the engine keeps in the store. It imports nothing but `tokensmith` (a peer dependency: the
// host's copy), and `definePlugin` binds the style and writes its manifest.
//
// Load it with `tokensmith serve --plugin ./node_modules/tokensmith-style-stamp/index.mjs`.
import { RequestInvalidError, definePlugin } from 'tokensmith';

class StampStyle {
  create(policy, { random }) {
    const width = policy.settings.bytes ?? 16;
    return {
      readGrant(request) {
        const scope = request.param('scope');
        if (scope !== undefined && !/^[a-z]+( [a-z]+)*$/.test(scope)) {
          throw new RequestInvalidError('parameter scope must be lower-case words', { policyId: policy.id, claim: 'scope' });
        }
        return {
          credentialId: request.param('client_id'),
          secret: request.param('client_secret'),
          ...(scope === undefined ? {} : { scopes: scope.split(' ') }),
        };
      },
      presentedToken: (request) => request.bearer ?? request.param('stamp'),
      mint: () => ({ token: `STAMP-${random.bytes(width).toString('hex')}` }),
    };
  }
}

export default definePlugin({
  name: 'tokensmith-style-stamp',
  styles: {
    stamp: {
      kind: 'opaque',
      settingsSchema: {
        type: 'object',
        additionalProperties: false,
        properties: { bytes: { type: 'integer', minimum: 16, maximum: 64, description: 'random bytes per token (default 16)' } },
      },
      style: new StampStyle(),
    },
  },
});
