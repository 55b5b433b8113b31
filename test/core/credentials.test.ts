import { expect } from 'chai';
import { CredentialIndex } from '../../core/credentials.js';

describe('core/credentials CredentialIndex', () => {
  const index = new CredentialIndex([
    { id: '123456', secret: 'app-key-1' },
    { secret: 'licence-a', scopes: ['pkgExpressEntry'] },
    { secret: 'licence-b' },
  ]);
  describe('.match', () => {
    it('matches an id with its secret', () => {
      expect(index.match('123456', 'app-key-1')?.id).to.equal('123456');
    });
    it('refuses a wrong secret, a secret of another id, an unknown id and no secret', () => {
      expect(index.match('123456', 'app-key-2')).to.equal(undefined);
      expect(index.match('123456', 'licence-a')).to.equal(undefined);
      expect(index.match('999999', 'app-key-1')).to.equal(undefined);
      expect(index.match('123456', undefined)).to.equal(undefined);
    });
    it('finds a secret-only credential (a licence) by its secret, whatever its length', () => {
      expect(index.match(undefined, 'licence-b')?.secret).to.equal('licence-b');
      expect(index.match(undefined, 'licence-a')?.scopes).to.deep.equal(['pkgExpressEntry']);
      expect(index.match(undefined, 'licence')).to.equal(undefined);
      expect(index.match(undefined, 'licence-a-but-longer')).to.equal(undefined);
    });
  });
});
