import { DURATION_PATTERN, parseDuration } from '../../core/duration.js';
import type { Policy } from '../../core/policy/types.js';
import { decodeBytes, IV_ENCODINGS, KEY_ENCODINGS, type ByteEncoding } from './bytes.js';

export const KEY_SIZES = [128, 192, 256] as const;
export const MODES = ['CBC', 'ECB', 'GCM'] as const;
export const PADDINGS = ['None', 'PKCS7', 'Zeros', 'ANSIX923', 'ISO10126'] as const;
export const DERIVATIONS = ['pbkdf2', 'passwordDeriveBytes'] as const;
export const PLAINTEXTS = ['xml', 'json', 'form'] as const;
/** The User Token's fields, in the order XDOC's pages list them. */
export const USER_FIELDS = ['UserName', 'Display', 'Email', 'Profile', 'ExtId', 'ExtRef', 'ExtData', 'ExtFlags'] as const;

export type KeySize = (typeof KEY_SIZES)[number];
export type Mode = (typeof MODES)[number];
export type Padding = (typeof PADDINGS)[number];
export type Derivation = (typeof DERIVATIONS)[number];
export type Plaintext = (typeof PLAINTEXTS)[number];
export type UserField = (typeof USER_FIELDS)[number];

/** .NET's `Rfc2898DeriveBytes` refuses salts shorter than this. */
export const MIN_PBKDF2_SALT = 8;
/** .NET's defaults: `Rfc2898DeriveBytes` 1000 iterations, `PasswordDeriveBytes` 100. */
export const DEFAULT_ITERATIONS: Readonly<Record<Derivation, number>> = { pbkdf2: 1000, passwordDeriveBytes: 100 };
export const DEFAULT_MAX_TOKEN_LENGTH = 8192;

const userSchema = {
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(
    USER_FIELDS.map((f) => [f, f === 'ExtFlags' ? { type: 'integer', minimum: 0 } : { type: 'string', minLength: 1 }]),
  ),
  description: 'the User Token fields minted (UserName and Email are required when any is given)',
};

/**
 * JSON Schema of a policy's `xdoc:` block: the security context and app keys the receiving side
 * checks, what minting puts in the tokens, and one or more named key sets (the first encrypts,
 * every one decrypts).
 *
 * @example
 * ```yaml
 * xdoc:
 *   context: MySecurityContext
 *   appKeys: ["${env:XDOC_APPKEY}"]
 *   mint: { appId: MyAppId, appKey: "${env:XDOC_APPKEY}" }
 *   keys:
 *     - { name: main, keySize: 256, mode: CBC, padding: PKCS7, initVector: "@1B2c3D4", key: "${env:XDOC_KEY_HEX}", keyEncoding: hex }
 * ```
 */
export const settingsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['context', 'keys'],
  properties: {
    context: { type: 'string', minLength: 1, description: 'Context of minted tokens; on verify, Context must equal the XSC parameter' },
    appKeys: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      uniqueItems: true,
      description: 'AppKey must be one of these on verify; the check is skipped when none are listed',
    },
    maxAge: { type: 'string', pattern: DURATION_PATTERN, description: 'oldest GenDT accepted on verify, and the lifetime of minted tokens. Default 5m' },
    clockSkew: { type: 'string', pattern: DURATION_PATTERN, description: 'allowance for clocks that differ (GenDT in the future, or just past maxAge). Default 30s' },
    requireUser: { type: 'boolean', description: 'verify: a User Token (XUT, or user fields in the XST) must be present. Default false' },
    maxTokenLength: { type: 'integer', minimum: 64, maximum: 65536, description: `longest token text accepted, checked before decrypting. Default ${DEFAULT_MAX_TOKEN_LENGTH}` },
    mint: {
      type: 'object',
      additionalProperties: false,
      required: ['appId'],
      description: 'what minted tokens carry (absent: this policy only verifies)',
      properties: {
        appId: { type: 'string', minLength: 1, description: 'AppId of minted tokens (for tracing)' },
        appKey: { type: 'string', minLength: 1, description: 'AppKey of minted tokens; must be one of appKeys when those are listed' },
        plaintext: { enum: [...PLAINTEXTS], description: 'plaintext format of minted tokens. Default xml' },
        xmlRoot: { enum: ['SecurityToken', 'token'], description: 'root element of a minted XST in XML (token = the older pages). Default SecurityToken' },
        client: { enum: ['none', 'caller'], description: "caller: Client carries the caller's address (the bound address when the policy binds). Default none" },
        genDt: {
          enum: ['ticks', 'seconds'],
          description: 'ticks: GenDT in .NET round-trip form with 7 fraction digits, so that tokens minted in one second differ; seconds: 2023-03-08T22:15:53Z. Default ticks',
        },
        user: userSchema,
        userFromRequest: {
          type: 'boolean',
          description: 'read the user fields from the request parameters (UserName, Email, …); needs a credentials list. Default false',
        },
        userToken: { enum: ['separate', 'combined'], description: 'separate: an XUT beside the XST; combined: user fields inside the XST. Default separate' },
      },
    },
    keys: {
      type: 'array',
      minItems: 1,
      description: 'named key sets ("API tokens"): the first encrypts, every one decrypts (rotation)',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'keySize', 'mode'],
        properties: {
          name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', description: 'a name for logs and rotation' },
          keySize: { enum: [...KEY_SIZES], description: 'AES key size in bits' },
          mode: { enum: [...MODES], description: 'CBC or ECB (XDOC), or GCM (authenticated, random nonce: recommended)' },
          padding: { enum: [...PADDINGS], description: 'CBC and ECB: required. GCM: None or absent' },
          initVector: { type: 'string', minLength: 1, description: 'CBC only: the Init Vector, 16 bytes in ivEncoding (8 characters as utf16le)' },
          ivEncoding: { enum: [...IV_ENCODINGS], description: 'how initVector becomes bytes. Default utf16le (.NET Encoding.Unicode)' },
          key: { type: 'string', minLength: 1, description: 'the raw key (keySize/8 bytes) in keyEncoding; use ${env:…} or ${file:…}' },
          keyEncoding: {
            enum: [...KEY_ENCODINGS],
            description: 'encoding of a raw key: hex (default), base64, or utf8 / ascii for a key written as keySize/8 plain characters, as integrators\' openssl-style samples give it',
          },
          derive: { enum: [...DERIVATIONS], description: 'derive the key from passphrase: pbkdf2 (.NET Rfc2898DeriveBytes, HMAC-SHA1) or passwordDeriveBytes (.NET, SHA-1)' },
          passphrase: { type: 'string', minLength: 1, description: 'the passphrase (UTF-8) a derived key comes from' },
          salt: { type: 'string', minLength: 1, description: 'salt of the derivation, in saltEncoding (pbkdf2: required, ≥ 8 bytes)' },
          saltEncoding: { enum: ['utf8', 'hex', 'base64'], description: 'encoding of salt. Default utf8' },
          iterations: { type: 'integer', minimum: 1, maximum: 10_000_000, description: 'derivation iterations. Default 1000 (pbkdf2), 100 (passwordDeriveBytes)' },
        },
      },
    },
  },
} as const;

/** One key set after validation. */
export interface KeySetSettings {
  readonly name: string;
  readonly keySize: KeySize;
  readonly mode: Mode;
  readonly padding?: Padding;
  readonly initVector?: string;
  readonly ivEncoding?: (typeof IV_ENCODINGS)[number];
  readonly key?: string;
  readonly keyEncoding?: (typeof KEY_ENCODINGS)[number];
  readonly derive?: Derivation;
  readonly passphrase?: string;
  readonly salt?: string;
  readonly saltEncoding?: 'utf8' | 'hex' | 'base64';
  readonly iterations?: number;
}

export type UserValues = Partial<Record<UserField, string | number>>;

export interface MintSettings {
  readonly appId: string;
  readonly appKey?: string;
  readonly plaintext?: Plaintext;
  readonly xmlRoot?: 'SecurityToken' | 'token';
  readonly client?: 'none' | 'caller';
  readonly genDt?: 'ticks' | 'seconds';
  readonly user?: UserValues;
  readonly userFromRequest?: boolean;
  readonly userToken?: 'separate' | 'combined';
}

/** The `xdoc:` block after validation. */
export interface XdocSettings {
  readonly context: string;
  readonly appKeys?: readonly string[];
  readonly maxAge?: string;
  readonly clockSkew?: string;
  readonly requireUser?: boolean;
  readonly maxTokenLength?: number;
  readonly mint?: MintSettings;
  readonly keys: readonly KeySetSettings[];
}

type Issue = { path: string; message: string };

/** Settings of one key set that cannot work together. Never echoes a key, passphrase or salt. */
function checkKeySet(set: KeySetSettings, at: string, plaintext: Plaintext): Issue[] {
  const issues: Issue[] = [];
  const add = (key: string, message: string) => issues.push({ path: `${at}/${key}`, message });
  if (set.mode === 'GCM') {
    if (set.padding !== undefined && set.padding !== 'None') add('padding', `mode GCM takes no padding (it is a stream mode); remove padding or set None, not ${set.padding}`);
    if (set.initVector !== undefined) add('initVector', 'mode GCM uses a fresh random nonce per token (sent in front of the ciphertext); remove initVector');
  } else {
    if (set.padding === undefined) add('mode', `mode ${set.mode} needs a padding: one of ${PADDINGS.join(', ')}`);
    if (set.padding === 'None' && plaintext === 'form') {
      add('padding', 'padding None needs block-aligned plaintext; minted xml and json are filled with trailing spaces, but a form-url string cannot be: use plaintext xml or json, or a padding');
    }
  }
  if (set.mode === 'ECB' && set.initVector !== undefined) add('initVector', 'mode ECB uses no Init Vector; remove initVector (and prefer CBC or GCM: ECB shows repeated blocks)');
  if (set.mode === 'CBC' && set.initVector === undefined) add('mode', 'mode CBC needs initVector (XDOC\'s default is @1B2c3D4)');
  if (set.initVector === undefined && set.ivEncoding !== undefined) add('ivEncoding', 'ivEncoding without initVector');
  if (set.initVector !== undefined) {
    const encoding: ByteEncoding = set.ivEncoding ?? 'utf16le';
    const bytes = decodeBytes(set.initVector, encoding);
    if (bytes === undefined) add('initVector', `initVector is not valid ${encoding}`);
    else if (bytes.length !== 16) {
      const hint = encoding === 'utf16le' ? ' (8 characters)' : '';
      add('initVector', `initVector must be 16 bytes${hint} as ${encoding}, one AES block; it is ${bytes.length}`);
    }
  }
  if (set.derive === undefined) {
    if (set.key === undefined) add('key', set.passphrase === undefined ? 'give key (raw, in keyEncoding) or passphrase with derive' : 'passphrase needs derive: pbkdf2 or passwordDeriveBytes');
    for (const extra of ['salt', 'saltEncoding', 'iterations', 'passphrase'] as const) {
      if (set[extra] !== undefined && !(extra === 'passphrase' && set.key === undefined)) add(extra, `${extra} applies only to a derived key (derive: pbkdf2 or passwordDeriveBytes)`);
    }
    if (set.key !== undefined) {
      const encoding = set.keyEncoding ?? 'hex';
      const bytes = decodeBytes(set.key, encoding);
      const plain = encoding === 'utf8' || encoding === 'ascii';
      if (bytes === undefined) add('key', `key is not valid ${encoding}`);
      else if (bytes.length * 8 !== set.keySize && plain) {
        add('key', `key is ${bytes.length} bytes as ${encoding}; keySize ${set.keySize} needs exactly ${set.keySize / 8} (no padding or cutting is done)`);
      } else if (bytes.length * 8 !== set.keySize) add('key', `key is ${bytes.length * 8} bits; keySize says ${set.keySize}`);
    }
  } else {
    if (set.key !== undefined) add('key', `a derived key comes from passphrase; remove key (or remove derive to use key as raw bytes)`);
    if (set.keyEncoding !== undefined) add('keyEncoding', 'keyEncoding applies only to a raw key');
    if (set.passphrase === undefined) add('derive', `derive ${set.derive} needs passphrase`);
    const salt = set.salt === undefined ? undefined : decodeBytes(set.salt, set.saltEncoding ?? 'utf8');
    if (set.salt !== undefined && salt === undefined) add('salt', `salt is not valid ${set.saltEncoding}`);
    if (set.salt === undefined && set.saltEncoding !== undefined) add('saltEncoding', 'saltEncoding without salt');
    if (set.derive === 'pbkdf2') {
      if (set.salt === undefined) add('derive', `derive pbkdf2 needs salt (at least ${MIN_PBKDF2_SALT} bytes, as .NET's Rfc2898DeriveBytes requires)`);
      else if (salt !== undefined && salt.length < MIN_PBKDF2_SALT) add('salt', `pbkdf2 salt must be at least ${MIN_PBKDF2_SALT} bytes; it is ${salt.length}`);
    }
  }
  return issues;
}

/** Checks the schema cannot express; paths are relative to the `xdoc:` block. */
export function check(raw: Readonly<Record<string, unknown>>, policy: Policy): Issue[] {
  const settings = raw as unknown as XdocSettings;
  const issues: Issue[] = [];
  const plaintext = settings.mint?.plaintext ?? 'xml';
  const names = new Set<string>();
  // Runs even when the block is missing (that is reported on its own): read nothing that is not there.
  (settings.keys ?? []).forEach((set, i) => {
    if (names.has(set.name)) issues.push({ path: `/keys/${i}/name`, message: `key set "${set.name}" is listed twice` });
    names.add(set.name);
    issues.push(...checkKeySet(set, `/keys/${i}`, plaintext));
  });
  const mint = settings.mint;
  if (mint?.appKey !== undefined && settings.appKeys?.length && !settings.appKeys.includes(mint.appKey)) {
    issues.push({ path: '/mint/appKey', message: 'mint.appKey is not one of appKeys: the tokens this policy mints would not verify' });
  }
  if (mint?.appKey === undefined && mint !== undefined && settings.appKeys?.length) {
    issues.push({ path: '/mint', message: 'appKeys are listed, so minted tokens need mint.appKey (one of them) to verify' });
  }
  if (mint?.userFromRequest && policy.credentials === undefined) {
    issues.push({
      path: '/mint/userFromRequest',
      message: 'userFromRequest needs a credentials list: otherwise anyone who reaches the route could mint a token for any user',
    });
  }
  if (mint?.user !== undefined && (mint.user.UserName === undefined || mint.user.Email === undefined)) {
    issues.push({ path: '/mint/user', message: 'a User Token needs UserName and Email' });
  }
  if (mint?.userToken !== undefined && mint.user === undefined && !mint.userFromRequest) {
    issues.push({ path: '/mint/userToken', message: 'userToken without user fields (mint.user or mint.userFromRequest)' });
  }
  const maxAge = parseDuration(settings.maxAge ?? '5m') as number;
  const lifetime = maxAge + (parseDuration(settings.clockSkew ?? '30s') as number);
  if (mint !== undefined && (lifetime < policy.ttl.minMs || lifetime > policy.ttl.maxMs)) {
    issues.push({
      path: '/maxAge',
      message: `maxAge + clockSkew is the lifetime of minted tokens and must lie within ttl min..max (${policy.ttl.minMs / 1000}s..${policy.ttl.maxMs / 1000}s)`,
    });
  }
  if (mint === undefined && policy.routes.length) {
    issues.push({ path: '', message: 'this policy has an issuing route but no mint block (appId, …): add mint, or remove the route to only verify' });
  }
  if (maxAge === 0) issues.push({ path: '/maxAge', message: 'maxAge must be more than 0' });
  return issues;
}
