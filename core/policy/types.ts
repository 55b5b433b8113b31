/**
 * The frozen policy object the loader produces and the engine consumes. Durations are in
 * milliseconds here; in YAML they are strings such as `300s`, `20m`, `99h`.
 */
export type HttpMethod = 'GET' | 'POST';

export interface Credential {
  /** Identifier sent by the caller (Electa `CID`); absent for secret-only credentials (Melissa licence). */
  readonly id?: string;
  /** The shared secret, already resolved from its `${env:…}` / `${file:…}` reference. */
  readonly secret: string;
  /** Scopes (Melissa packages) this credential may obtain; absent = any the style knows. */
  readonly scopes?: readonly string[];
  /** Subject (user id) to put in tokens issued to this credential. */
  readonly subject?: string;
}

export interface RouteBase {
  readonly path: string;
  readonly methods: readonly HttpMethod[];
  /** The reply format this route always uses (one of `output.allowed`); absent = the output guard chooses. */
  readonly format?: string;
}

export interface IssueRoute extends RouteBase {
  /**
   * Parameters fixed server-side; they override the caller's. A same-origin helper keeps a
   * licence here so that it never reaches the browser.
   */
  readonly preset?: Readonly<Record<string, string>>;
  /** Binds the token to the caller's own address (sets the policy's IP parameter to it). */
  readonly bindCaller?: boolean;
  /** Parameters the caller must send with exactly these values (`function: gettoken`). */
  readonly require?: Readonly<Record<string, string>>;
}

export interface ProtectedRoute extends RouteBase {
  /** Scopes (packages) a token must carry here. */
  readonly scopes?: readonly string[];
  /**
   * Parameters the route repeats in its reply, in the policy's reply format, with the token's
   * expiry (Electa's `launch.asp`: the room, the user's names and type); `required` ones must
   * be sent. Absent = the route answers the generic JSON demo body.
   */
  readonly echo?: Readonly<Record<string, 'required' | 'optional'>>;
}

export type IpBindingMode = 'off' | 'param' | 'caller' | 'required';

export interface Policy {
  readonly id: string;
  readonly style: string;
  readonly description?: string;
  /** Where the policy came from (absolute path), for messages. */
  readonly source: string;
  /** The issuing routes (YAML `route`: one or a list); empty = engine/CLI only. */
  readonly routes: readonly IssueRoute[];
  /** Routes protected with `requireToken(policy.id)` (YAML `protectedRoute`: one or a list). */
  readonly protectedRoutes: readonly ProtectedRoute[];
  /** Parameter names matched case-insensitively. */
  readonly caseInsensitiveParams: boolean;
  /**
   * Route and protected-route paths matched in any letter case (YAML `paths.caseInsensitive`),
   * as the vendors' IIS / classic ASP servers match them.
   */
  readonly caseInsensitivePaths: boolean;
  /** Absent = issuing needs no credential (the host authenticates its own users). */
  readonly credentials?: readonly Credential[];
  readonly ttl: { readonly defaultMs: number; readonly minMs: number; readonly maxMs: number };
  readonly ipBinding: { readonly mode: IpBindingMode; readonly param: string };
  readonly lockout?: {
    readonly threshold: number;
    readonly windowMs: number;
    readonly durationMs: number;
    readonly per: readonly ('credential' | 'address')[];
  };
  readonly output: {
    /** Request parameter that chooses the reply format; absent = always `default`. */
    readonly param?: string;
    readonly default: string;
    readonly allowed: readonly string[];
  };
  /** `false` = single use: a token verifies once. */
  readonly reuse: boolean;
  /** Request parameters whose (identifier-shaped) values the request log shows (YAML `log.params`); empty by default. */
  readonly logParams: readonly string[];
  /** The style's own settings block (the YAML key named after the style), resolved and frozen. */
  readonly settings: Readonly<Record<string, unknown>>;
  /**
   * The values of the keys that guard plugins own, by key, as written (checked against each
   * guard's schema). The built-in guards' keys are also read into the typed fields above.
   */
  readonly rules: Readonly<Record<string, unknown>>;
}
