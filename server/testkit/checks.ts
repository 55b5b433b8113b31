import { AssertionError } from 'node:assert';
import { Ajv } from 'ajv';
import { ManualClock } from '../../core/clock.js';
import { CryptoRandom } from '../../core/random.js';
import { TYPES } from '../../core/ids.js';
import { encoderNameFor } from '../../core/formats.js';
import { GUARD_HOOKS } from '../../core/guard.js';
import { baseSchema } from '../../core/policy/schema.js';
import {
  isSelfContained, type Outcome, type Reply, type ReplyEncoder, type TokenRecord, type TokenRequest, type TokenStyle,
} from '../../core/ports.js';
import { everyError } from './errors.js';
import { T0, type Bench, type Subject } from './subject.js';

/** A check that does not apply to this plugin, and why. */
export interface Skip {
  readonly skip: string;
}

/**
 * One contract a plugin must honour. `run` resolves when it holds, throws an `AssertionError`
 * saying what broke, or resolves to a {@link Skip}.
 */
export interface ConformanceCheck {
  readonly name: string;
  run(subject: Subject, open: () => Promise<Bench>): Promise<void | Skip>;
}

const fail = (message: string): never => {
  throw new AssertionError({ message });
};

const describe = (err: unknown): string =>
  err instanceof Error ? `${err.name}: ${err.message.split('\n')[0]}` : `a thrown ${typeof err} (${String(err).slice(0, 60)})`;

interface RefusalRule {
  /** Codes accepted here; default any known code. */
  readonly codes?: readonly string[];
  /** A code prefix required here (`ERR_TOKEN_`). */
  readonly prefix?: string;
  /** The presented token, which the message must not repeat. */
  readonly token?: string;
}

/** The code of a proper refusal: a tokensmith-style error with a known code and an HTTP status. */
function refusalCode(err: unknown, what: string, subject: Subject, rule: RefusalRule): string {
  const code = (err as { code?: unknown } | null)?.code;
  const status = (err as { status?: unknown } | null)?.status;
  if (!(err instanceof Error) || typeof code !== 'string' || !/^ERR_[A-Z0-9_]+$/.test(code)) {
    return fail(`${what} threw ${describe(err)} instead of a TokenSmithError with a stable code`);
  }
  if (!subject.codes.has(code)) {
    return fail(`${what} was refused with ${code}, which is neither a tokensmith code (docs/errors.md) nor one listed in options.codes`);
  }
  if (rule.codes !== undefined && !rule.codes.includes(code)) {
    return fail(`${what} was refused with ${code}; expected ${rule.codes.join(' or ')}`);
  }
  if (rule.prefix !== undefined && !code.startsWith(rule.prefix)) {
    return fail(`${what} was refused with ${code}; expected an ${rule.prefix}* code`);
  }
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599) {
    return fail(`${what} was refused with ${code} but status ${String(status)}; expected an HTTP error status (400–599)`);
  }
  if (rule.token !== undefined && rule.token.length >= 8 && err.message.includes(rule.token)) {
    return fail(`${what} was refused with ${code}, but the error message repeats the presented token`);
  }
  return code;
}

/** Runs `action`, which must be refused. */
async function refused(subject: Subject, what: string, action: () => Promise<unknown>, rule: RefusalRule = {}): Promise<string> {
  try {
    await action();
  } catch (err) {
    return refusalCode(err, what, subject, rule);
  }
  const expected = rule.codes?.join(' or ') ?? `an ${rule.prefix ?? 'ERR_'}* code`;
  return fail(`${what} was accepted; expected a refusal with ${expected}`);
}

/** Runs every probe, collecting what each found wrong, and fails once with all of it. */
async function allOf(probes: readonly (() => Promise<unknown>)[]): Promise<void> {
  const problems: string[] = [];
  for (const probe of probes) {
    try {
      await probe();
    } catch (err) {
      if (!(err instanceof AssertionError)) throw err;
      problems.push(err.message);
    }
  }
  if (problems.length) fail(problems.join('\n'));
}

/** Runs `action`, which must succeed. */
async function accepted<T>(what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return fail(`${what} was refused${typeof code === 'string' ? ` with ${code}` : ''}: ${describe(err)}`);
  }
}

const TOKEN_GONE = ['ERR_TOKEN_REVOKED', 'ERR_TOKEN_UNKNOWN'];
const OTHER_ADDRESS = '127.0.0.2';
const seconds = (ms: number): number => Math.floor(ms / 1000);

/**
 * Every parameter name an issue request is asked for — the recipe's, and whatever the style
 * and the engine read (a lifetime, user fields, the reply format, the address to bind) — found
 * by watching `param` on the recipe's request and on an empty one. A style without credentials
 * has no recipe parameters, yet reads some: those are what a caller can send it.
 */
async function parametersRead(subject: Subject, b: Bench): Promise<string[]> {
  const fold = subject.policy.caseInsensitiveParams;
  const names = new Map<string, string>();
  const note = (name: string) => {
    const key = fold ? name.toLowerCase() : name;
    if (!names.has(key)) names.set(key, name);
  };
  for (const name of Object.keys(subject.options.recipe.issue)) note(name);
  const watched = (request: TokenRequest): TokenRequest => ({
    ...request,
    param: (name: string) => {
      note(name);
      return request.param(name);
    },
  });
  for (const request of [b.issueRequest(), { param: () => undefined, clientAddress: '127.0.0.1' }]) {
    try {
      await b.engine.issue(subject.policy.id, watched(request));
    } catch {
      // Only the names are wanted here; each request is judged by the probes below.
    }
  }
  return [...names.values()];
}

/** A character that differs from `c` even when compared case-insensitively (Electa GUIDs are). */
const other = (c: string): string => (c.toLowerCase() === '0' ? '1' : '0');
const replaceAt = (text: string, at: number): string => text.slice(0, at) + other(text.charAt(at)) + text.slice(at + 1);

/** Changed copies of a valid token. */
const TAMPERINGS: readonly (readonly [string, (t: string) => string])[] = [
  ['with its first character changed', (t) => replaceAt(t, 0)],
  ['with a character in the middle changed', (t) => replaceAt(t, Math.floor(t.length / 2))],
  ['with its second-to-last character changed', (t) => replaceAt(t, Math.max(0, t.length - 2))],
  ['cut to half its length', (t) => t.slice(0, Math.floor(t.length / 2))],
  ['with a character appended', (t) => `${t}A`],
];

/** Strings that are no token of anyone's. */
const GARBAGE: readonly string[] = [
  'garbage', 'a.b.c', '...', 'x'.repeat(10_000), '\u0000\u0001\u0002', 'ünïcödé ☃ 𝄞', '%00%ff', '{"alg":"none"}',
  'eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4IiwiZXhwIjo5OTk5OTk5OTk5fQ.', '00000000-0000-0000-0000-000000000000', 'T:',
];

/** Records compare on what both kinds keep (self-contained tokens hold times in whole seconds). */
function sameRecord(verified: TokenRecord, issued: TokenRecord): string | undefined {
  const fields = ['tokenId', 'policyId', 'subject', 'credentialId', 'boundAddress'] as const;
  for (const field of fields) {
    if (verified[field] !== issued[field]) return `${field} is ${JSON.stringify(verified[field])} on verify but was ${JSON.stringify(issued[field])} when issued`;
  }
  if (JSON.stringify(verified.scopes) !== JSON.stringify(issued.scopes)) {
    return `scopes are ${JSON.stringify(verified.scopes)} on verify but were ${JSON.stringify(issued.scopes)} when issued`;
  }
  if (seconds(verified.expiresAt) !== seconds(issued.expiresAt)) return `expiresAt differs between issue and verify`;
  return undefined;
}

function checkReply(reply: Reply, what: string, statuses: readonly [number, number]): void {
  if (reply === null || typeof reply !== 'object') fail(`${what} returned ${String(reply)} instead of a Reply`);
  const { status, contentType, body } = reply;
  if (!Number.isInteger(status) || status < statuses[0] || status > statuses[1]) {
    fail(`${what} has status ${String(status)}; expected ${statuses[0]}–${statuses[1]}`);
  }
  if (typeof contentType !== 'string' || !/^[a-z]+\/[a-z0-9.+-]+/i.test(contentType)) fail(`${what} has content type ${JSON.stringify(contentType)}`);
  if (typeof body !== 'string') fail(`${what} has a body of type ${typeof body}; expected a string`);
  if (/\n\s+at .+:\d+:\d+/.test(body)) fail(`${what} shows a stack trace`);
}

/** The contracts, in the order they run. Each gets a fresh engine, store and clock. */
export const CONFORMANCE_CHECKS: readonly ConformanceCheck[] = [
  {
    name: 'manifest: every style, encoder and store a manifest lists is bound under that name, with the method its kind needs',
    async run({ underTest }) {
      const problems: string[] = [];
      const kinds = [
        [TYPES.TokenStyle, 'style', 'TokenStyle', 'styles', 'create'],
        [TYPES.ReplyEncoder, 'encoder', 'ReplyEncoder', 'encoders', 'encode'],
        [TYPES.StoreFactory, 'store', 'StoreFactory', 'stores', undefined],
      ] as const;
      for (const module of underTest) {
        if (module.manifests.length === 0) problems.push('a plugin module binds no PluginManifest (make it with definePlugin)');
        for (const manifest of module.manifests) {
          if (typeof manifest.name !== 'string' || manifest.name === '') problems.push('a manifest has no name');
          for (const style of manifest.styles ?? []) {
            if (style.kind !== 'opaque' && style.kind !== 'self-contained') {
              problems.push(`style "${style.name}" has kind ${JSON.stringify(style.kind)}; expected "opaque" or "self-contained"`);
            }
            if (typeof style.settingsRequired !== 'boolean') problems.push(`style "${style.name}" does not say whether settingsRequired`);
          }
        }
        for (const [id, label, service, field, method] of kinds) {
          const listed = module.manifests.flatMap((m) => (field === 'styles' ? (m.styles ?? []).map((s) => s.name) : [...(m[field] ?? [])]));
          for (const name of listed) {
            const resolved = module.container.get<unknown>(id, { name, optional: true });
            if (resolved === undefined || resolved === null) problems.push(`a manifest lists ${label} "${name}" but the module binds no ${service} whenNamed("${name}")`);
            else if (method === undefined ? typeof resolved !== 'function' : typeof (resolved as Record<string, unknown>)[method] !== 'function') {
              problems.push(method === undefined ? `the ${service} bound as "${name}" is not a function` : `the ${service} bound as "${name}" has no ${method}() method`);
            }
          }
        }
      }
      if (problems.length) fail(problems.join('\n'));
    },
  },
  {
    name: 'settings schema: each style’s settings schema is a valid JSON Schema of type object that ajv compiles in strict mode',
    async run({ underTest }) {
      const problems: string[] = [];
      for (const style of underTest.flatMap((m) => m.manifests.flatMap((x) => x.styles ?? []))) {
        const schema = style.settingsSchema as Record<string, unknown> | undefined;
        if (schema === null || typeof schema !== 'object' || schema['type'] !== 'object') {
          problems.push(`style "${style.name}": settingsSchema must be a JSON Schema of type "object" (the settings block is a mapping)`);
          continue;
        }
        const ajv = new Ajv({ strict: true, allErrors: true });
        if (!ajv.validateSchema(schema)) {
          problems.push(`style "${style.name}": settingsSchema is not valid JSON Schema: ${ajv.errorsText(ajv.errors)}`);
          continue;
        }
        try {
          ajv.compile(schema);
        } catch (err) {
          problems.push(`style "${style.name}": ajv (strict) cannot compile settingsSchema: ${(err as Error).message}`);
        }
      }
      if (problems.length) fail(problems.join('\n'));
    },
  },
  {
    name: 'kind: a self-contained style implements open(), an opaque one does not',
    async run({ policy, registry }) {
      const kind = registry.styles.get(policy.style)?.kind;
      const style = registry.style(policy.style) as TokenStyle;
      const instance = await style.create(policy, { clock: new ManualClock(T0), random: new CryptoRandom() });
      if (kind === 'self-contained' && !isSelfContained(instance)) fail(`style "${policy.style}" is declared self-contained but its instance has no open()`);
      if (kind === 'opaque' && isSelfContained(instance)) fail(`style "${policy.style}" is declared opaque but its instance has open(): declare it self-contained`);
    },
  },
  {
    name: 'round trip: a minted token verifies where the recipe presents it, with the record it was issued with',
    async run({ policy }, open) {
      const b = await open();
      const issued = await accepted('the recipe’s issue request', () => b.engine.issue(policy.id, b.issueRequest()));
      if (typeof issued.token !== 'string' || issued.token === '') fail(`mint returned ${JSON.stringify(issued.token)}; expected a non-empty string`);
      const lifetime = issued.record.expiresAt - issued.record.issuedAt;
      if (issued.record.issuedAt !== T0) fail(`issuedAt is ${issued.record.issuedAt}; expected the injected clock's time ${T0}`);
      if (lifetime < policy.ttl.minMs || lifetime > policy.ttl.maxMs) fail(`the token lives ${lifetime} ms, outside the policy's ttl`);
      const verified = await accepted('a freshly minted token', () => b.engine.verify(policy.id, undefined, b.presenting(issued.token)));
      const difference = sameRecord(verified, issued.record);
      if (difference !== undefined) fail(difference);
    },
  },
  {
    name: 'missing token: a verify request that presents none is refused with ERR_TOKEN_MISSING',
    async run(subject, open) {
      const b = await open();
      await refused(subject, 'a verify request without a token', () => b.engine.verify(subject.policy.id, undefined, b.presenting(undefined)), {
        codes: ['ERR_TOKEN_MISSING'],
      });
    },
  },
  {
    name: 'expiry: a token verifies until it expires and is refused after (ManualClock)',
    async run(subject, open) {
      const b = await open();
      const { id } = subject.policy;
      const first = await accepted('the recipe’s issue request', () => b.engine.issue(id, b.issueRequest()));
      const second = await accepted('a second issue request', () => b.engine.issue(id, b.issueRequest()));
      b.clock.set(first.record.expiresAt - 1000);
      await accepted('a token one second before it expires', () => b.engine.verify(id, undefined, b.presenting(first.token)));
      b.clock.set(second.record.expiresAt + (subject.options.recipe.expiryLeewayMs ?? 60_000) + 1000);
      await refused(subject, 'an expired token', () => b.engine.verify(id, undefined, b.presenting(second.token)), {
        codes: ['ERR_TOKEN_EXPIRED', 'ERR_TOKEN_UNKNOWN'],
        token: second.token,
      });
      const seen = await b.engine.introspect(second.token, id);
      if (seen.active) fail('introspection says an expired token is active');
    },
  },
  {
    name: 'revocation: after engine.revoke a token is refused with ERR_TOKEN_REVOKED or ERR_TOKEN_UNKNOWN',
    async run(subject, open) {
      const b = await open();
      const { id } = subject.policy;
      const { token } = await accepted('the recipe’s issue request', () => b.engine.issue(id, b.issueRequest()));
      const kept = await accepted('another token', () => b.engine.issue(id, b.issueRequest()));
      if ((await b.engine.revoke(token, id)) !== true) fail('engine.revoke returned false for a valid token');
      await refused(subject, 'a revoked token', () => b.engine.verify(id, undefined, b.presenting(token)), { codes: TOKEN_GONE, token });
      if ((await b.engine.revoke(token, id)) !== false) fail('engine.revoke returned true for a token already revoked');
      if ((await b.engine.revoke('no-such-token', id)) !== false) fail('engine.revoke returned true for a string that is no token');
      await accepted('a token that was not revoked', () => b.engine.verify(id, undefined, b.presenting(kept.token)));
    },
  },
  {
    name: 'introspection: active with policy, jti and exp for a live token; inactive once revoked and for garbage',
    async run({ policy }, open) {
      const b = await open();
      const { token, record } = await accepted('the recipe’s issue request', () => b.engine.issue(policy.id, b.issueRequest()));
      const seen = (await b.engine.introspect(token, policy.id)) as Record<string, unknown>;
      if (seen['active'] !== true) fail('introspection says a live token is inactive');
      const expected = { policy: policy.id, token_type: policy.style, jti: record.tokenId, exp: seconds(record.expiresAt) };
      for (const [key, value] of Object.entries(expected)) {
        if (seen[key] !== value) fail(`introspection gives ${key} ${JSON.stringify(seen[key])}; expected ${JSON.stringify(value)}`);
      }
      await b.engine.revoke(token, policy.id);
      if ((await b.engine.introspect(token, policy.id)).active) fail('introspection says a revoked token is active');
      if ((await b.engine.introspect('garbage', policy.id)).active) fail('introspection says "garbage" is an active token');
    },
  },
  {
    name: 'single use: under reuse: false a token verifies once (introspection does not use it up), then is refused',
    async run(subject, open) {
      const b = await open();
      const id = subject.once.id;
      const { token } = await accepted('an issue request under reuse: false', () => b.engine.issue(id, b.issueRequest()));
      if (!(await b.engine.introspect(token, id)).active) fail('introspection says a live single-use token is inactive');
      await accepted('a single-use token presented the first time', () => b.engine.verify(id, undefined, b.presenting(token)));
      await refused(subject, 'a single-use token presented again', () => b.engine.verify(id, undefined, b.presenting(token)), {
        codes: ['ERR_TOKEN_REUSED', 'ERR_TOKEN_UNKNOWN'],
      });
    },
  },
  {
    name: 'address binding: under ipBinding: caller a token is refused from another address with ERR_TOKEN_IP_MISMATCH',
    async run(subject, open) {
      const b = await open();
      const id = subject.bound.id;
      const { token } = await accepted('an issue request under ipBinding: caller', () => b.engine.issue(id, b.issueRequest()));
      await refused(subject, 'a bound token presented from another address', () => b.engine.verify(id, undefined, b.presenting(token, OTHER_ADDRESS)), {
        codes: ['ERR_TOKEN_IP_MISMATCH'],
      });
      const record = await accepted('a bound token presented from its own address', () => b.engine.verify(id, undefined, b.presenting(token)));
      if (record.boundAddress === undefined) fail('the verified record of a bound token has no boundAddress');
    },
  },
  {
    name: 'tampered tokens: a changed token is refused with a documented ERR_TOKEN_* code, and the original still verifies',
    async run(subject, open) {
      const b = await open();
      const { id } = subject.policy;
      const { token } = await accepted('the recipe’s issue request', () => b.engine.issue(id, b.issueRequest()));
      await allOf([
        ...TAMPERINGS.map(([how, change]) => () => {
          const changed = change(token);
          return refused(subject, `the token ${how}`, () => b.engine.verify(id, undefined, b.presenting(changed)), { prefix: 'ERR_TOKEN_', token: changed });
        }),
        () => accepted('the untouched token, after the tampered ones', () => b.engine.verify(id, undefined, b.presenting(token))),
      ]);
    },
  },
  {
    name: 'garbage tokens: refused with a documented ERR_TOKEN_* code, never a crash; revoke and introspect say no',
    async run(subject, open) {
      const b = await open();
      const { id } = subject.policy;
      await allOf(
        GARBAGE.map((junk) => async () => {
          const shown = JSON.stringify(junk.length > 24 ? `${junk.slice(0, 24)}…` : junk);
          await refused(subject, `the token ${shown}`, () => b.engine.verify(id, undefined, b.presenting(junk)), { prefix: 'ERR_TOKEN_', token: junk });
          if ((await b.engine.introspect(junk, id)).active) fail(`introspection says ${shown} is an active token`);
          if ((await b.engine.revoke(junk, id)) !== false) fail(`engine.revoke returned true for ${shown}`);
        }),
      );
    },
  },
  {
    name: 'another policy: a token minted under one policy does not verify under another',
    async run(subject, open) {
      if (subject.other === undefined) {
        return {
          skip: 'self-contained tokens verify wherever the same keys are configured: give recipe.otherEnv (an environment giving the policy other keys) to run this check',
        };
      }
      const b = await open();
      const [mine, theirs] = [subject.policy.id, subject.other.id];
      const { token } = await accepted('the recipe’s issue request', () => b.engine.issue(mine, b.issueRequest()));
      await refused(subject, 'a token presented under another policy', () => b.engine.verify(theirs, undefined, b.presenting(token)), { prefix: 'ERR_TOKEN_', token });
      const back = await accepted('an issue request under the other policy', () => b.engine.issue(theirs, b.issueRequest()));
      await refused(subject, 'the other policy’s token presented here', () => b.engine.verify(mine, undefined, b.presenting(back.token)), {
        prefix: 'ERR_TOKEN_',
        token: back.token,
      });
    },
  },
  {
    name: 'reply encoders: success and every error class render with a status, a content type, and no hidden message or stack',
    async run({ policy, underTest }, open) {
      const b = await open();
      const names = new Set(underTest.flatMap((m) => m.manifests.flatMap((x) => [...(x.encoders ?? [])])));
      for (const format of policy.output.allowed) names.add(encoderNameFor(policy.style, format, b.registry.encoders) ?? format);
      const issued = await accepted('the recipe’s issue request', () => b.engine.issue(policy.id, b.issueRequest()));
      const success: Outcome = { ok: true, token: issued.token, record: issued.record };
      for (const name of names) {
        const encoder: ReplyEncoder = b.registry.encoder(name);
        const render = (outcome: Outcome, what: string): Reply => {
          try {
            return encoder.encode(outcome, policy);
          } catch (err) {
            return fail(`encoder "${name}" threw on ${what}: ${describe(err)}`);
          }
        };
        checkReply(render(success, 'success'), `encoder "${name}" on success`, [200, 299]);
        for (const error of everyError(policy.id)) {
          const reply = render({ ok: false, error }, error.code);
          checkReply(reply, `encoder "${name}" on ${error.code}`, [200, 599]);
          if (!error.expose && reply.body.includes(error.message)) fail(`encoder "${name}" shows the hidden message of ${error.code} to the client`);
        }
      }
    },
  },
  {
    name: 'bad issue requests: missing, empty, huge or odd parameters (every one the style reads) are refused with a documented code, never a crash',
    async run(subject, open) {
      const b = await open();
      const { id } = subject.policy;
      const names = await parametersRead(subject, b);
      const cases: [string, () => Promise<unknown>][] = [
        ['an issue request without parameters', () => b.engine.issue(id, { param: () => undefined, clientAddress: '127.0.0.1' })],
      ];
      for (const name of names) {
        for (const [label, value] of [['empty', ''], ['10 000 characters long', 'x'.repeat(10_000)], ['odd', 'ünï\u0000☃,;<>&"\'']] as const) {
          cases.push([`an issue request with ${name} ${label}`, () => b.engine.issue(id, b.issueRequest({ [name]: value }))]);
        }
      }
      for (const [what, action] of cases) {
        try {
          await action();
        } catch (err) {
          refusalCode(err, what, subject, {});
        }
      }
    },
  },
  {
    name: 'guards: each guard has a name, an order, a valid JSON Schema for each key it owns, documented codes, and only known hooks',
    async run(subject, open) {
      const modules = subject.underTest.filter((m) => m.guards.length > 0 || m.manifests.some((x) => (x.guards ?? []).length > 0));
      if (modules.length === 0) return { skip: 'the plugin provides no guard' };
      const problems: string[] = [];
      const b = await open();
      for (const module of modules) {
        const bound = new Set(module.guards.map((g) => g.name));
        const listed = new Set(module.manifests.flatMap((m) => [...(m.guards ?? [])]));
        for (const name of listed) if (!bound.has(name)) problems.push(`a manifest lists guard "${name}" but the module binds no guard of that name (make it with definePlugin)`);
        for (const name of bound) if (!listed.has(name)) problems.push(`the module binds guard "${name}" but no manifest lists it`);
        for (const guard of module.guards) {
          const label = `guard "${String(guard.name)}"`;
          if (typeof guard.name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(guard.name)) problems.push(`${label}: its name must be lower case letters, digits and dashes`);
          if (typeof guard.order !== 'number' || !Number.isFinite(guard.order)) problems.push(`${label}: order must be a number (lower runs first)`);
          for (const [key, fragment] of Object.entries(guard.keys ?? {})) {
            try {
              new Ajv({ strict: true }).compile({ definitions: baseSchema()['definitions'], ...fragment } as object);
            } catch (err) {
              problems.push(`${label}: the schema of key "${key}" is not valid JSON Schema (${(err as Error).message})`);
            }
          }
          for (const code of guard.codes ?? []) {
            if (!subject.codes.has(code)) problems.push(`${label}: code ${code} is neither a tokensmith code (docs/errors.md) nor one listed in options.codes`);
          }
          if (typeof guard.create !== 'function') {
            problems.push(`${label}: it has no create()`);
            continue;
          }
          const made: unknown = guard.create(subject.policy, { store: b.store, clock: b.clock, lockoutStarted: () => {} });
          if (made === undefined) continue;
          if (made === null || typeof made !== 'object' || typeof (made as { then?: unknown }).then === 'function') {
            problems.push(`${label}: create() must return the guard itself or undefined (not a promise)`);
            continue;
          }
          for (const [hook, value] of Object.entries(made)) {
            if (!(GUARD_HOOKS as readonly string[]).includes(hook)) problems.push(`${label}: "${hook}" is not a hook; hooks are ${GUARD_HOOKS.join(', ')}`);
            else if (typeof value !== 'function') problems.push(`${label}: hook ${hook} is not a function`);
            else if (hook === 'beforeMint' && value.constructor?.name === 'AsyncFunction') {
              problems.push(`${label}: beforeMint is async; it must decide without a promise (check with the store in onRequest or the credential hooks)`);
            }
          }
        }
      }
      if (problems.length) fail(problems.join('\n'));
    },
  },
  {
    name: 'guard rule: a token verifies as often as the recipe’s guard allows (introspection does not count), then is refused with its code',
    async run(subject, open) {
      const rule = subject.options.recipe.guard;
      if (rule === undefined) return { skip: 'no recipe.guard: give { verifies, code } to check a guard that limits use' };
      const b = await open();
      const id = subject.policy.id;
      const { token } = await accepted('an issue request', () => b.engine.issue(id, b.issueRequest()));
      for (let i = 1; i <= rule.verifies; i++) {
        if (!(await b.engine.introspect(token, id)).active) fail(`introspection says the token is inactive after ${i - 1} of ${rule.verifies} allowed verifications`);
        await accepted(`verification ${i} of ${rule.verifies} allowed`, () => b.engine.verify(id, undefined, b.presenting(token)));
      }
      await refused(subject, `verification ${rule.verifies + 1} (one more than allowed)`, () => b.engine.verify(id, undefined, b.presenting(token)), {
        codes: [rule.code],
        token,
      });
    },
  },
];
