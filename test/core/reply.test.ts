import { expect } from 'chai';
import {
  AdminUnauthorizedError, CredentialInvalidError, InternalError, LockedOutError, RequestInvalidError, StoreUnavailableError,
  TokenExpiredError, TokenMissingError, TokenScopeError, type ErrorCode,
} from '../../core/errors.js';
import { bearerChallenge, describeError, jsonErrorReply, vendorCode } from '../../core/reply.js';
import { everyError } from '../../server/testkit/errors.js';

describe('core/reply', () => {
  describe('errors carry their reply headers', () => {
    it('a lockout asks for Retry-After in whole seconds, rounded up', () => {
      expect(new LockedOutError('locked', 899_001).headers).to.deep.equal({ 'retry-after': '900' });
    });
    it('the admin refusal asks for its challenge; most errors ask for nothing', () => {
      expect(new AdminUnauthorizedError('no').headers).to.deep.equal({ 'www-authenticate': 'Bearer realm="tokensmith-admin"' });
      expect(new CredentialInvalidError('no').headers).to.equal(undefined);
    });
  });

  describe('bearerChallenge', () => {
    it('says invalid_token on a 401, insufficient_scope (and the scope) on a 403 for a scope (RFC 6750 §3.1)', () => {
      expect(bearerChallenge('p', 401, new TokenExpiredError('expired'))).to.equal('Bearer realm="p", error="invalid_token", error_description="ERR_TOKEN_EXPIRED"');
      expect(bearerChallenge('p', 403, new TokenScopeError('scope', { claim: 'read' }))).to.equal(
        'Bearer realm="p", error="insufficient_scope", error_description="ERR_TOKEN_SCOPE", scope="read"',
      );
    });
    it('says only the realm when no token was presented', () => {
      expect(bearerChallenge('p', 401, new TokenMissingError('none'))).to.equal('Bearer realm="p"');
    });
    it('challenges nothing on a vendor’s 200 reply, nor when the service failed rather than the token', () => {
      expect(bearerChallenge('p', 200, new TokenExpiredError('expired'))).to.equal(undefined);
      expect(bearerChallenge('p', 503, new StoreUnavailableError('down'))).to.equal(undefined);
      expect(bearerChallenge('p', 400, new RequestInvalidError('bad'))).to.equal(undefined);
    });
  });

  describe('jsonErrorReply', () => {
    it('shows an exposed message and hides the others', () => {
      expect(jsonErrorReply(new RequestInvalidError('parameter x is required'))).to.deep.equal({
        status: 400, contentType: 'application/json', body: '{"error":"ERR_REQUEST_INVALID","error_description":"parameter x is required"}',
      });
      expect(describeError(new InternalError('/srv/secret/path'))).to.deep.equal({ error: 'ERR_INTERNAL', error_description: 'internal error' });
    });
  });

  describe('vendorCode', () => {
    const table = Object.fromEntries(everyError('p').map((e) => [e.code, e.code.length])) as Record<ErrorCode, number>;
    it('looks up every tokensmith code, and falls back for a plugin’s own', () => {
      for (const error of everyError('p')) expect(vendorCode(table, error.code, -1)).to.equal(error.code.length);
      expect(vendorCode(table, 'ERR_FIXTURE_QUOTA', -1)).to.equal(-1);
      expect(vendorCode(table, 'toString', -1)).to.equal(-1);
    });
  });
});
