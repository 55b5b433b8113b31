import { expect } from 'chai';
import fc from 'fast-check';
import { createHmac } from 'node:crypto';
import { ManualClock } from '../../core/clock.js';
import { TokenSmithError } from '../../core/errors.js';
import { tokenRequestFrom } from '../../core/request.js';
import { KeySet } from '../../plugins/xdoc/cipher.js';
import type { XdocSettings } from '../../plugins/xdoc/schema.js';
import { boot, type Booted } from '../../server/bootstrap.js';
import { T0 } from '../helpers/boot.js';
import { SeededRandom } from './seeded-random.js';
import { assertSeeded, fuzzSeed } from './seed.js';

const RUNS = Number(process.env['FUZZ_TOKEN_RUNS'] ?? 1000);
const NOW_S = Math.floor(T0 / 1000);

/** Verifies; a refusal must be a domain error with a code, never a TypeError or anything else. */
async function outcome(booted: Booted, policy: string, token: string, params: Record<string, string>): Promise<string> {
  try {
    await booted.engine.verify(policy, token, tokenRequestFrom(params, '127.0.0.1'));
    return 'ok';
  } catch (err) {
    if (err instanceof TokenSmithError && err.status < 500) return err.code;
    throw err;
  }
}

/** A JSON value, or one a generator would sensibly write there. */
const either = <T>(sensible: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: sensible }, { weight: 1, arbitrary: fc.jsonValue() });

/**
 * Tokens that pass the signature or decryption — made with the example policies' own keys, as
 * another generator holding them might — with header fields, claims and plaintext fields of any
 * JSON type and shape. Verification must answer each with a domain error or accept it: what a
 * field holds is input like any other (a `kid` of `1` was a TypeError and a 500).
 */
describe('fuzz: signed and encrypted tokens with fields of any type (fast-check, in process)', function () {
  this.timeout(120_000);
  let booted: Booted;

  before(async () => {
    booted = await boot({ policies: ['policies'], store: 'memory', env: {}, clock: new ManualClock(T0), random: new SeededRandom(fuzzSeed()) });
  });
  after(() => booted.store.close());

  it(`emalidate: ${RUNS} HS256 JWTs signed with the policy's key, header and claims of any type`, async () => {
    const settings = booted.engine.policy('emalidate').settings as { issuer: string; keys: { kid: string; secret: string }[] };
    const { kid, secret } = settings.keys[0] as { kid: string; secret: string };
    const header = fc
      .tuple(
        fc.record({ alg: either(fc.constant('HS256')), typ: either(fc.constant('JWT')), kid: either(fc.constant(kid)) }, { requiredKeys: ['alg'] }),
        fc.option(fc.record({ crit: fc.jsonValue(), b64: fc.jsonValue() }, { requiredKeys: [] }), { freq: 5 }),
      )
      .map(([fields, extra]) => ({ ...fields, ...extra }));
    const payload = fc.record(
      {
        iss: either(fc.constant(settings.issuer)), sub: either(fc.string()), iat: either(fc.integer({ min: NOW_S - 600, max: NOW_S + 600 })),
        exp: either(fc.integer({ min: NOW_S - 600, max: NOW_S + 3000 })), nbf: either(fc.integer({ min: NOW_S - 600, max: NOW_S + 600 })),
        jti: either(fc.string()), kid: either(fc.constant(kid)), scope: either(fc.string()), cip: either(fc.constantFrom('127.0.0.1', '::1', 'fe80::1%eth0')),
      },
      { requiredKeys: ['iss', 'sub', 'iat', 'exp', 'jti'] },
    );
    const seen = new Set<string>();
    await assertSeeded(
      fc.asyncProperty(header, payload, async (h, p) => {
        const input = `${Buffer.from(JSON.stringify(h)).toString('base64url')}.${Buffer.from(JSON.stringify(p)).toString('base64url')}`;
        const token = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
        seen.add(await outcome(booted, 'emalidate', token, {}));
      }),
      {
        numRuns: RUNS,
        // One case per outcome asserted below, run first: whether random cases reach them depends on the seed.
        examples: [
          [{ alg: 'HS256', typ: 'JWT', kid }, { iss: settings.issuer, sub: 'someone', iat: NOW_S, exp: NOW_S + 300, jti: 'example' }],
          [{ alg: 'HS256', typ: 'JWT', kid: 'no-such-kid' }, { iss: settings.issuer, sub: 'someone', iat: NOW_S, exp: NOW_S + 300, jti: 'example' }],
          [{ alg: 'HS256', typ: 'JWT', kid }, { iss: settings.issuer, sub: 5, iat: NOW_S, exp: NOW_S + 300, jti: 'example' }],
          [{ alg: 'HS512', typ: 'JWT', kid }, { iss: settings.issuer, sub: 'someone', iat: NOW_S, exp: NOW_S + 300, jti: 'example' }],
        ],
      },
      { file: 'dist/test/fuzz/tokens.test.js', grep: 'emalidate:' },
    );
    // The generator reaches acceptance and the type checks, not only the first refusal.
    expect([...seen]).to.include.members(['ok', 'ERR_TOKEN_KID_UNKNOWN', 'ERR_TOKEN_CLAIM_INVALID', 'ERR_TOKEN_ALG_NOT_ALLOWED']);
  });

  it(`xdoc: ${RUNS} tokens encrypted with the policy's key, plaintext fields of any type and shape (XML, JSON, form)`, async () => {
    const settings = booted.engine.policy('xdoc').settings as unknown as XdocSettings;
    const keys = new KeySet(settings.keys[0] as XdocSettings['keys'][number], new SeededRandom(fuzzSeed() + 1));
    const appKey = settings.appKeys?.[0] ?? '';
    const sensible: Record<string, fc.Arbitrary<unknown>> = {
      Context: fc.constant(settings.context), AppId: fc.string({ minLength: 1 }), AppKey: fc.constant(appKey),
      GenDT: fc.constantFrom('2026-11-22T12:00:00Z', '20261122T120000', '2026-11-22T04:00:00-08:00', '2026-02-30T00:00:00Z', ''),
      Client: fc.constantFrom('127.0.0.1', 'fe80::1%eth0', 'nonsense'), UserName: fc.string(), Email: fc.string(), ExtFlags: fc.oneof(fc.integer(), fc.string()),
    };
    const fields = fc.record(Object.fromEntries(Object.entries(sensible).map(([name, arb]) => [name, either(arb)])), { requiredKeys: [] });
    const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const plaintext = fc.tuple(fields, fc.constantFrom('json', 'wrapped', 'xml', 'form'), fc.constantFrom('SecurityToken', 'UserToken', 'token', 'Other')).map(([f, shape, root]) => {
      switch (shape) {
        case 'json':
          return JSON.stringify(f);
        case 'wrapped':
          return JSON.stringify({ [root]: f });
        case 'xml':
          return `<${root}>${Object.entries(f).map(([k, v]) => `<${k}>${typeof v === 'string' ? escape(v) : `<v>${escape(JSON.stringify(v) ?? '')}</v>`}</${k}>`).join('')}</${root}>`;
        default:
          return new URLSearchParams(Object.entries(f).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : (JSON.stringify(v) ?? '')])).toString();
      }
    });
    const seen = new Set<string>();
    await assertSeeded(
      fc.asyncProperty(plaintext, async (text) => {
        let bytes = Buffer.from(text, 'utf8');
        if (keys.needsAlignedInput) bytes = Buffer.concat([bytes, Buffer.alloc((16 - (bytes.length % 16)) % 16, 0x20)]);
        const token = keys.encrypt(bytes).toString('base64');
        seen.add(await outcome(booted, 'xdoc', token, { XSC: settings.context, XUT: token }));
      }),
      {
        numRuns: RUNS,
        // One case per outcome asserted below, run first (see the emalidate property).
        examples: [
          [JSON.stringify({ Context: settings.context, AppId: 'example', AppKey: appKey, GenDT: '2026-11-22T12:00:00Z' })],
          [JSON.stringify({ Context: settings.context, AppId: 'example', AppKey: appKey, GenDT: 'not a time' })],
          ['\u0000'],
        ],
      },
      { file: 'dist/test/fuzz/tokens.test.js', grep: 'xdoc:' },
    );
    expect([...seen]).to.include.members(['ok', 'ERR_TOKEN_CLAIM_INVALID', 'ERR_TOKEN_UNDECRYPTABLE']);
  });
});
