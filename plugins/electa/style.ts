import { RequestInvalidError } from '../../core/errors.js';
import type { Policy } from '../../core/policy/types.js';
import type { GrantRequest, MintedToken, Random, StyleInstance, TokenRequest, TokenStyle, VerifyExpectations } from '../../core/ports.js';

/**
 * One policy's Electa authentication namespace: `CID` + `AppKey` → a random v4 GUID session
 * token (upper case, as the vendor prints it), kept in the store; later calls pass `CID` and
 * `Token`, and the token is only good with its own `CID`.
 */
class ElectaInstance implements StyleInstance {
  readonly #policyId: string;
  readonly #random: Random;

  constructor(policy: Policy, random: Random) {
    this.#policyId = policy.id;
    this.#random = random;
  }

  readGrant(request: TokenRequest): GrantRequest {
    const cid = request.param('CID');
    const appKey = request.param('AppKey');
    for (const [name, value] of [['CID', cid], ['AppKey', appKey]] as const) {
      if (value === undefined || value === '') {
        throw new RequestInvalidError(`missing parameter ${name}`, { policyId: this.#policyId, claim: name });
      }
    }
    return { credentialId: cid as string, secret: appKey as string };
  }

  /** GUIDs compare case-insensitively; the store keeps the upper-case form. */
  presentedToken(request: TokenRequest): string | undefined {
    return request.param('Token')?.trim().toUpperCase();
  }

  expectations(request: TokenRequest): VerifyExpectations {
    const cid = request.param('CID');
    if (cid === undefined || cid === '') throw new RequestInvalidError('missing parameter CID', { policyId: this.#policyId, claim: 'CID' });
    return { credentialId: cid };
  }

  async mint(): Promise<MintedToken> {
    return { token: this.#random.uuid().toUpperCase() };
  }
}

/**
 * The Electa Live API 2.1 session-token style.
 *
 * @example
 * ```ts
 * const instance = await new ElectaStyle().create(policy, { clock, random });
 * instance.readGrant(tokenRequestFrom({ CID: '123456', AppKey: key }, ip)); // { credentialId, secret }
 * ```
 */
export class ElectaStyle implements TokenStyle {
  async create(policy: Policy, deps: { random: Random }): Promise<StyleInstance> {
    return new ElectaInstance(policy, deps.random);
  }
}
