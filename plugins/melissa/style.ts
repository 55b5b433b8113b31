import { RequestInvalidError } from '../../core/errors.js';
import type { IssueRoute, Policy } from '../../core/policy/types.js';
import type { GrantRequest, InfoRoute, InfoRoutes, MintedToken, Random, Reply, StyleInstance, TokenRequest, TokenStyle } from '../../core/ports.js';
import { versionPathOf, type MelissaSettings } from './schema.js';

/** What `getversion` answers when the policy does not say: version 3 of the token service, whose paths are `/v3/…`. */
export const DEFAULT_VERSION = '3.0.0';

/** `TS` is `HHMM`: `0001` (1 minute) to `9900` (99 hours). */
const TS = /^([0-9]{2})([0-5][0-9])$/;

/** Reads `TS` into milliseconds; `RequestInvalidError` (claim `TS`, Melissa `TE03`) when malformed. */
export function parseLifetime(text: string, policyId: string): number {
  const match = TS.exec(text);
  const minutes = match ? Number(match[1]) * 60 + Number(match[2]) : 0;
  if (!match || minutes < 1 || minutes > 99 * 60) {
    throw new RequestInvalidError('parameter TS must be HHMM between 0001 and 9900', { policyId, claim: 'TS' });
  }
  return minutes * 60_000;
}

/**
 * One policy's Melissa token server: opaque `T:` tokens (the engine stores them with their
 * packages, binding and expiry), licence in `L`, packages in `P`, lifetime in `TS`, binding in `IP`.
 */
class MelissaInstance implements StyleInstance, InfoRoutes {
  readonly #policyId: string;
  readonly #random: Random;
  readonly #bytes: number;
  readonly #version: Reply;
  readonly #json: boolean;

  constructor(policy: Policy, random: Random) {
    const settings = policy.settings as MelissaSettings;
    this.#policyId = policy.id;
    this.#random = random;
    this.#bytes = settings.tokenBytes ?? 24;
    // The .NET SDK reads `tokenServerVersion`, the Python SDK `Version`: both are answered.
    const version = settings.version ?? DEFAULT_VERSION;
    this.#json = policy.output.allowed.includes('json');
    this.#version = { status: 200, contentType: 'application/json', body: JSON.stringify({ Version: version, tokenServerVersion: version }) };
  }

  /** `…/getversion` beside every `…/RequestToken` route, as Melissa's Cloud API SDKs ask for it. */
  infoRoutes(routes: readonly IssueRoute[]): InfoRoute[] {
    return routes.flatMap((route) => {
      const path = versionPathOf(route.path);
      // A refusal here (a POST) is JSON, as the SDKs that ask for the version read JSON.
      return path === undefined ? [] : [{ path, methods: ['GET'] as const, reply: this.#version, ...(this.#json ? { format: 'json' } : {}) }];
    });
  }

  readGrant(request: TokenRequest): GrantRequest {
    const licence = request.param('L');
    if (licence === undefined || licence === '') {
      throw new RequestInvalidError('parameter L (the licence) is required', { policyId: this.#policyId, claim: 'L' });
    }
    const grant: GrantRequest = { secret: licence };
    const packages = request.param('P');
    if (packages !== undefined && packages.trim() !== '') {
      grant.scopes = [...new Set(packages.split(',').map((p) => p.trim()).filter(Boolean))];
    }
    const lifetime = request.param('TS');
    if (lifetime !== undefined && lifetime !== '') grant.ttlMs = parseLifetime(lifetime, this.#policyId);
    return grant;
  }

  /** A Melissa service takes the token where it would take the licence: `id`. */
  presentedToken(request: TokenRequest): string | undefined {
    return request.param('id');
  }

  async mint(): Promise<MintedToken> {
    return { token: `T:${this.#random.bytes(this.#bytes).toString('base64url')}` };
  }
}

/**
 * The Melissa token-server style.
 *
 * @example
 * ```ts
 * const instance = await new MelissaStyle().create(policy, { clock, random });
 * instance.readGrant(tokenRequestFrom({ L: licence, P: 'pkgExpressEntry', TS: '0010' }, ip));
 * ```
 */
export class MelissaStyle implements TokenStyle {
  async create(policy: Policy, deps: { random: Random }): Promise<StyleInstance> {
    return new MelissaInstance(policy, deps.random);
  }
}
