import { readFile } from 'node:fs/promises';
import { Container, type ContainerModule } from 'inversify';
import { parseDocument } from 'yaml';
import { ManualClock } from '../../core/clock.js';
import { assemble } from '../../core/container.js';
import type { Engine } from '../../core/engine.js';
import type { GuardPlugin } from '../../core/guard.js';
import { TYPES } from '../../core/ids.js';
import { loadPluginModule } from '../../core/plugin-loader.js';
import { loadPolicyText } from '../../core/policy/load.js';
import type { Policy } from '../../core/policy/types.js';
import type { PluginManifest, Store, TokenRequest } from '../../core/ports.js';
import { tokenRequestFrom } from '../../core/request.js';
import type { PluginRegistry } from '../../core/registry.js';
import { builtinModules } from '../../plugins/index.js';

/** A policy to run the kit with: a file path, or YAML text (`file` names it in messages and is the base of `${file:…}`). */
export type PolicySource = string | { readonly text: string; readonly file?: string };

/** How to get and present a valid token under the policy. */
export interface ConformanceRecipe {
  /** Parameters of a valid issue request (credentials, scopes…), as a caller would send them. */
  readonly issue: Readonly<Record<string, string>>;
  /** Where a caller puts the token on verify: an `Authorization: Bearer` header, or a parameter (Melissa `id`, Electa `Token`). */
  readonly present: 'bearer' | { readonly param: string };
  /** Parameters every verify request also carries (Electa's `CID`). */
  readonly verifyParams?: Readonly<Record<string, string>>;
  /** The caller's address (default `127.0.0.1`). */
  readonly clientAddress?: string;
  /**
   * Environment under which the same policy has other keys (`{ MY_SECRET: '…' }`). Self-contained
   * tokens verify wherever the same keys are configured, so the "another policy" check needs it
   * for them; without it that check is skipped. Opaque styles need nothing.
   */
  readonly otherEnv?: Readonly<Record<string, string>>;
  /** Clock leeway the style allows past `expiresAt` (default 60 s); the expiry check moves the clock beyond it. */
  readonly expiryLeewayMs?: number;
  /**
   * For a guard under test that limits how often a token is used (single use, a use count):
   * how many verifications the policy allows one token, and the code the next one is refused
   * with. Without it the "guard rule" check is skipped.
   */
  readonly guard?: { readonly verifies: number; readonly code: string };
}

/** What the kit runs against. */
export interface ConformanceOptions {
  /**
   * The plugin(s) under test: `ContainerModule`s, or paths loaded as `--plugin PATH` does. The
   * built-in plugins (memory store, `json` encoder, built-in styles) are always loaded too; when
   * this is empty, the built-in plugin that provides the policy's style is the one under test.
   */
  readonly plugins?: readonly (ContainerModule | string)[];
  readonly policy: PolicySource;
  /** Environment for `${env:…}` references (default `{}`: demo defaults apply). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly recipe: ConformanceRecipe;
  /** Error codes your plugin adds (documented by you), besides tokensmith's own. */
  readonly codes?: readonly string[];
  /** Base directory for plugin paths (default `process.cwd()`). */
  readonly cwd?: string;
}

/** What one plugin module provides: the manifests it binds, and a container holding only it. */
export interface ModuleInspection {
  readonly manifests: readonly PluginManifest[];
  /** The guard plugins it binds. */
  readonly guards: readonly GuardPlugin[];
  /** A container holding only this module, to resolve what its manifests list. */
  readonly container: Container;
}

/** The variants of the policy the checks use, each with its own id. */
export const VARIANT_IDS = { other: 'conformance-other', once: 'conformance-once', bound: 'conformance-bound' } as const;

/** Everything loaded once per run. */
export interface Subject {
  readonly options: ConformanceOptions;
  readonly modules: readonly ContainerModule[];
  /** The modules under test, inspected. */
  readonly underTest: readonly ModuleInspection[];
  readonly policy: Policy;
  /** Same policy, another id and — with `recipe.otherEnv` — other keys; `undefined` when that cannot differ. */
  readonly other: Policy | undefined;
  /** Same policy with `reuse: false`. */
  readonly once: Policy;
  /** Same policy with `ipBinding: caller`. */
  readonly bound: Policy;
  readonly registry: PluginRegistry;
  readonly codes: ReadonlySet<string>;
}

/** A fresh engine on a manual clock for one check. */
export interface Bench {
  readonly engine: Engine;
  readonly clock: ManualClock;
  readonly registry: PluginRegistry;
  readonly store: Store;
  /** A request carrying the recipe's issue parameters (plus `extra`). */
  issueRequest(extra?: Record<string, string>, clientAddress?: string): TokenRequest;
  /** A verify request presenting `token` as the recipe says (none when `undefined`). */
  presenting(token: string | undefined, clientAddress?: string): TokenRequest;
}

/** A fixed instant, so every run sees the same times. */
export const T0 = Date.parse('2026-01-01T00:00:00Z');

/** Loads a module into a container of its own, to read its manifests and resolve what they list. */
export async function inspectModule(module: ContainerModule): Promise<ModuleInspection> {
  const container = new Container({ defaultScope: 'Singleton' });
  await container.loadAsync(module);
  const manifests = container.isBound(TYPES.PluginManifest) ? container.getAll<PluginManifest>(TYPES.PluginManifest) : [];
  const guards = container.isBound(TYPES.Guard) ? container.getAll<GuardPlugin>(TYPES.Guard) : [];
  return { manifests, guards, container };
}

async function policyText(source: PolicySource): Promise<{ text: string; file: string }> {
  if (typeof source === 'string') return { text: await readFile(source, 'utf8'), file: source };
  return { text: source.text, file: source.file ?? 'conformance.yaml' };
}

/** The policy's YAML with top-level keys replaced; comments and references stay as written. */
export function variantText(text: string, changes: Readonly<Record<string, unknown>>): string {
  const doc = parseDocument(text, { version: '1.2' });
  for (const [key, value] of Object.entries(changes)) doc.set(key, value);
  return doc.toString();
}

/** The tokensmith error codes (every `TokenSmithError` subclass) plus the plugin's own. */
async function knownCodes(extra: readonly string[]): Promise<Set<string>> {
  const { everyError } = await import('./errors.js');
  return new Set([...everyError('conformance').map((e) => e.code), ...extra]);
}

/** Loads the modules and the policy (with its variants) once; throws with the loader's messages. */
export async function prepare(options: ConformanceOptions): Promise<Subject> {
  const outside: ContainerModule[] = [];
  for (const plugin of options.plugins ?? []) outside.push(typeof plugin === 'string' ? await loadPluginModule(plugin, options.cwd) : plugin);
  const modules = [...builtinModules, ...outside];
  const { registry, store } = await assemble({ modules });
  await store.close();
  const env = options.env ?? {};
  const { text, file } = await policyText(options.policy);
  const load = (yaml: string, withEnv = env): Policy => loadPolicyText(yaml, file, { catalog: registry, env: withEnv }).policies[0] as Policy;
  const policy = load(text);
  const selfContained = registry.styles.get(policy.style)?.kind === 'self-contained';
  const otherEnv = options.recipe.otherEnv;
  const other =
    otherEnv === undefined && selfContained ? undefined : load(variantText(text, { id: VARIANT_IDS.other }), { ...env, ...otherEnv });
  const once = load(variantText(text, { id: VARIANT_IDS.once, reuse: false }));
  const bound = load(variantText(text, { id: VARIANT_IDS.bound, ipBinding: 'caller' }));
  const inspected = await Promise.all((outside.length ? outside : builtinModules).map(inspectModule));
  // Without outside plugins, the built-in plugin of the policy's style is under test, and the built-in guards with it.
  const underTest = outside.length
    ? inspected
    : inspected.filter((m) => m.guards.length > 0 || m.manifests.some((x) => x.styles?.some((s) => s.name === policy.style)));
  return { options, modules, underTest, policy, other, once, bound, registry, codes: await knownCodes(options.codes ?? []) };
}

/** A fresh container, memory store and engine on a manual clock, serving the policy and its variants. */
export async function bench(subject: Subject): Promise<Bench> {
  const clock = new ManualClock(T0);
  const { engine, registry, store } = await assemble({ modules: subject.modules, store: 'memory', clock });
  await engine.load([subject.policy, subject.once, subject.bound, ...(subject.other ? [subject.other] : [])]);
  const { recipe } = subject.options;
  const address = recipe.clientAddress ?? '127.0.0.1';
  const caseInsensitive = subject.policy.caseInsensitiveParams;
  return {
    engine,
    clock,
    registry,
    store,
    issueRequest: (extra = {}, clientAddress = address) => tokenRequestFrom({ ...recipe.issue, ...extra }, clientAddress, { caseInsensitive }),
    presenting: (token, clientAddress = address) => {
      const params: Record<string, string> = { ...recipe.verifyParams };
      if (token !== undefined && recipe.present !== 'bearer') params[recipe.present.param] = token;
      const bearer = token !== undefined && recipe.present === 'bearer' ? { bearer: token } : {};
      return tokenRequestFrom(params, clientAddress, { caseInsensitive, ...bearer });
    },
  };
}
