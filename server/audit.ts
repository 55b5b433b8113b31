import { createHmac } from 'node:crypto';
import type { Context } from 'koa';
import type { Engine } from '../core/engine.js';
import { isTokenSmithError } from '../core/errors.js';
import type { Policy } from '../core/policy/types.js';
import type { Clock } from '../core/ports.js';
import type { AuditSink } from './audit-sink.js';

/** The events of the audit trail; `docs/audit.md` describes each with its fields. */
export type AuditEvent =
  | 'audit.started'
  | 'token.issued'
  | 'token.refused'
  | 'lock.started'
  | 'lock.lifted'
  | 'token.revoked'
  | 'tokens.revoked'
  | 'admin.call'
  | 'policies.reloaded';

/**
 * What an event is about. `tokenId` is hashed before it is written; `credentialId` is written as
 * it is only when the policy lists that credential (else hashed: it is text a caller chose). The
 * other fields are written as given: only values tokensmith chose (codes, names, ids) go here,
 * never a secret, a token or text a caller sent.
 */
export interface AuditFields {
  readonly policy?: string | undefined;
  readonly credentialId?: string | undefined;
  readonly client?: string | undefined;
  readonly tokenId?: string | undefined;
  /** The admin credential's name that did it (lock lifted, token revoked, admin call). */
  readonly actor?: string | null | undefined;
  readonly [field: string]: string | number | boolean | readonly string[] | null | undefined;
}

export interface AuditTrailOptions {
  /** Where the lines go (a file, stderr); see `audit-sink.ts`. */
  readonly sink: AuditSink;
  /** The HMAC key for token ids and unknown credential ids (`TOKENSMITH_AUDIT_KEY`). */
  readonly key: string | Buffer;
  /** The time source of `time`. Default: the system clock. */
  readonly clock?: Clock;
}

const SYSTEM_CLOCK: Clock = { now: () => Date.now() };

/**
 * The audit trail: one JSON line per security event, in the shape `docs/audit.md` documents:
 * `time`, `event`, `policy`, `credential_id`, `client`, `token_id` on every line (null when the
 * event has none), then the event's own fields. A token id is written as an HMAC-SHA256 under the
 * audit key, as Vault's audit devices do: whoever holds the key can find a token's lines
 * (`hash(jti)`), nobody can use or recover the token from them. Nothing here is awaited: a line
 * is handed to the sink, which writes it asynchronously.
 *
 * @example
 * ```ts
 * const trail = new AuditTrail({ sink: auditFile('/var/log/tokensmith/audit.log'), key: process.env.TOKENSMITH_AUDIT_KEY! });
 * trail.watch(engine);
 * const app = createApp({ engine, audit: trail, adminSecret });
 * ```
 */
export class AuditTrail {
  readonly #sink: AuditSink;
  readonly #key: Buffer;
  readonly #clock: Clock;
  #engine: Engine | undefined;
  /** Each policy's credential ids, made once per compiled policy. */
  readonly #known = new WeakMap<Policy, ReadonlySet<string>>();

  constructor(options: AuditTrailOptions) {
    this.#sink = options.sink;
    this.#key = typeof options.key === 'string' ? Buffer.from(options.key, 'utf8') : Buffer.from(options.key);
    this.#clock = options.clock ?? SYSTEM_CLOCK;
  }

  /** Records the engine's events: tokens issued and refused, locks started. Returns the unsubscribe. */
  watch(engine: Engine): () => void {
    this.#engine = engine;
    return engine.observe({
      issued: (policy, request, record) => {
        this.record('token.issued', { policy, credentialId: record.credentialId, client: request.clientAddress, tokenId: record.tokenId, expires_at: iso(record.expiresAt) });
      },
      refused: (policy, request, error, credentialId) => {
        this.record('token.refused', { policy, credentialId, client: request.clientAddress, code: isTokenSmithError(error) ? error.code : 'ERR_INTERNAL' });
      },
      lockout: (policy, lock) => {
        this.record('lock.started', { policy, credentialId: lock?.credentialId, client: lock?.request.clientAddress, subject: lock?.subject ?? null });
      },
    });
  }

  /** Writes one event line. Never throws: an audit line is never a reason to fail a request. */
  record(event: AuditEvent, fields: AuditFields = {}): void {
    const { policy, credentialId, client, tokenId, ...rest } = fields;
    const line = {
      time: iso(this.#clock.now()),
      event,
      policy: policy ?? null,
      credential_id: credentialId === undefined ? null : this.#credential(policy, credentialId),
      client: client || null,
      token_id: tokenId === undefined ? null : this.hash(tokenId),
      ...rest,
    };
    try {
      this.#sink.write(`${JSON.stringify(line)}\n`);
    } catch {
      // The sink reports its own failures (see audit-sink.ts).
    }
  }

  /**
   * The HMAC-SHA256 of `value` under the audit key, as the trail writes it
   * (`hmac-sha256:<hex>`): an operator finds a token's lines by hashing its `jti`.
   */
  hash(value: string): string {
    return `hmac-sha256:${createHmac('sha256', this.#key).update(value, 'utf8').digest('hex')}`;
  }

  /** Writes what the sink still holds and closes it (on shutdown). */
  close(): Promise<void> {
    return this.#sink.close();
  }

  /** Opens the file again (after log rotation moved it; `SIGHUP` in `serve`). */
  reopen(): void {
    this.#sink.reopen?.();
  }

  /** A credential id as written: as it is when the policy lists it, else hashed (it is then only what a caller typed). */
  #credential(policyId: string | undefined, id: string): string {
    const policy = policyId === undefined || this.#engine?.served.has(policyId) !== true ? undefined : this.#engine.served.get(policyId).policy;
    if (policy === undefined) return this.hash(id);
    let known = this.#known.get(policy);
    if (known === undefined) {
      known = new Set((policy.credentials ?? []).map((c) => c.id).filter((c): c is string => c !== undefined));
      this.#known.set(policy, known);
    }
    return known.has(id) ? id : this.hash(id);
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** What an admin route finds in `ctx.state` once `authorize(action)` let it through. */
export interface AdminState {
  /** The name of the admin credential that called (never its secret). */
  actor?: string;
  /** The audit trail, when one is configured. */
  audit?: AuditTrail;
  /** The caller's address, after trusted-proxy resolution. */
  clientAddress?: string;
  /** The id of the token the call was about, when a route found one (introspection): the `admin.call` line carries its hash. */
  auditTokenId?: string;
}

/**
 * Records a security event done by the admin credential of this request: the trail writes the
 * credential's name as `actor` and the caller's address as `client`. Does nothing when no audit
 * trail is configured. Admin routes call it once they have done what they were asked.
 *
 * @example auditAdmin(ctx, 'lock.lifted', { policy: 'electa', credentialId: '123456', subject: 'credential' })
 */
export function auditAdmin(ctx: Context, event: AuditEvent, fields: AuditFields = {}): void {
  const state = ctx.state as AdminState;
  state.audit?.record(event, { client: state.clientAddress, actor: state.actor ?? null, ...fields });
}
