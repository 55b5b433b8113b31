import { expect } from 'chai';
import { tokenRequestFrom } from '../../core/request.js';
import type { LockStarted, TokenRecord, TokenRequest } from '../../core/ports.js';
import { bootFixture, rejection, type Harness } from '../helpers/boot.js';

const ALICE = { client_id: 'alice', client_secret: 'alice-secret-0001' };

describe('Engine.observe: what observers hear of issue requests', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await bootFixture();
  });
  afterEach(async () => {
    await h.store.close();
  });

  it('tells issued (with the record), refused (with the error and the credential id sent) and whose lock started', async () => {
    const heard: unknown[][] = [];
    h.engine.observe({
      issued: (policy: string, request: TokenRequest, record: TokenRecord) => heard.push(['issued', policy, request.clientAddress, record.credentialId]),
      refused: (policy: string, request: TokenRequest, error: unknown, credentialId: string | undefined) =>
        heard.push(['refused', policy, request.clientAddress, (error as { code: string }).code, credentialId]),
      lockout: (policy: string, lock?: LockStarted) => heard.push(['lockout', policy, lock?.request.clientAddress, lock?.credentialId, lock?.subject]),
    });
    const { record } = await h.engine.issue('fixture', tokenRequestFrom(ALICE, '10.1.1.1'));
    expect(heard).to.deep.equal([['issued', 'fixture', '10.1.1.1', record.credentialId]]);
    heard.length = 0;
    for (let i = 0; i < 5; i++) await rejection(() => h.engine.issue('fixture', tokenRequestFrom({ ...ALICE, client_secret: 'wrong' }, '10.2.2.2')));
    await rejection(() => h.engine.issue('fixture', tokenRequestFrom({}, '10.3.3.3')));
    expect(heard).to.deep.equal([
      ...Array.from({ length: 4 }, () => ['refused', 'fixture', '10.2.2.2', 'ERR_CREDENTIAL_INVALID', 'alice']),
      ['lockout', 'fixture', '10.2.2.2', 'alice', 'credential'],
      ['refused', 'fixture', '10.2.2.2', 'ERR_CREDENTIAL_INVALID', 'alice'],
      // A request that names no credential.
      ['refused', 'fixture', '10.3.3.3', 'ERR_CREDENTIAL_INVALID', undefined],
    ]);
  });

  it('stops telling once the observer is removed, and an observer that throws changes no outcome', async () => {
    let calls = 0;
    const stop = h.engine.observe({ issued: () => void calls++ });
    h.engine.observe({
      issued: () => {
        throw new Error('observer bug');
      },
    });
    await h.engine.issue('fixture', tokenRequestFrom(ALICE, '10.1.1.1'));
    stop();
    const { token } = await h.engine.issue('fixture', tokenRequestFrom(ALICE, '10.1.1.1'));
    expect(token).to.match(/^FX-/);
    expect(calls).to.equal(1);
  });
});
