import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AddressList, listEntryProblem } from '../../../core/address.js';
import { PolicyInvalidError } from '../../../core/errors.js';
import { boot } from '../../../server/bootstrap.js';
import { host, type Host } from '../../helpers/host.js';

const ENV = { ELECTA_CID: '42', ELECTA_APPKEY: 'cidr-appkey-0123456789', MELISSA_LICENSE: 'cidr-licence-0123456789' };
const q = (params: Record<string, string>) => new URLSearchParams(params).toString();
const dir = mkdtempSync(join(tmpdir(), 'ts-cidr-'));

/** A shipped policy with one line replaced, written to a temporary file. */
function variant(file: string, from: string, to: string): string {
  const text = readFileSync(file, 'utf8');
  if (!text.includes(from)) throw new Error(`${file} no longer has "${from}"`);
  const out = join(dir, `${Math.random().toString(36).slice(2)}-${file.split('/').pop() as string}`);
  writeFileSync(out, text.replace(from, to));
  return out;
}

/** A request from `address`, as a trusted proxy on loopback forwards it. */
const from = (address: string) => ({ headers: { 'x-forwarded-for': address } });

describe('core/address AddressList (CIDR allow-lists)', () => {
  it('matches IPv4 and IPv6 ranges and single addresses, in any spelling', () => {
    const list = new AddressList(['10.0.0.0/8', '192.0.2.7', '2001:db8::/32', '::1']);
    const inside = ['10.255.0.1', '192.0.2.7', '2001:DB8:ffff::1', '2001:db8:0:0:0:0:0:9', '0:0:0:0:0:0:0:1', '[::1]'];
    const outside = ['11.0.0.1', '192.0.2.8', '2001:db9::1', '::2', 'not an address', ''];
    expect(inside.map((a) => list.has(a))).to.deep.equal(inside.map(() => true));
    expect(outside.map((a) => list.has(a))).to.deep.equal(outside.map(() => false));
  });

  it('treats IPv4-mapped IPv6 addresses and ranges as the IPv4 ones they map', () => {
    const list = new AddressList(['203.0.113.0/24', '::ffff:198.51.100.0/120']);
    expect(['::ffff:203.0.113.9', '::FFFF:cb00:7109', '198.51.100.200', '::ffff:198.51.100.1'].map((a) => list.has(a))).to.deep.equal([true, true, true, true]);
    expect(['::ffff:203.0.114.1', '198.51.101.1'].map((a) => list.has(a))).to.deep.equal([false, false]);
  });

  it('matches a zoned link-local caller by its address unless the entry names a zone', () => {
    const list = new AddressList(['fe80::/10', 'fd00::1%eth0']);
    expect(['fe80::1%eth0', 'fe80::1', 'fd00::1%eth0'].map((a) => list.has(a))).to.deep.equal([true, true, true]);
    expect(['fd00::1%eth1', 'fd00::1'].map((a) => list.has(a))).to.deep.equal([false, false]);
  });

  it('says what is wrong with a malformed entry', () => {
    expect(listEntryProblem('10.0.0.0/8')).to.equal(undefined);
    expect(listEntryProblem('10.0.0.0/33')).to.equal('has an invalid prefix length');
    expect(listEntryProblem('2001:db8::/129')).to.equal('has an invalid prefix length');
    expect(listEntryProblem('10.0.0.0/')).to.equal('has an invalid prefix length');
    expect(listEntryProblem('10.0.0.0/8/8')).to.equal('has an invalid prefix length');
    expect(listEntryProblem('10.0.0.0/-1')).to.equal('has an invalid prefix length');
    expect(listEntryProblem('::ffff:10.0.0.0/64')).to.equal('has an invalid prefix length (an IPv4-mapped range needs /96 to /128)');
    expect(listEntryProblem('10.0.0/8')).to.equal('is not an IP address or CIDR range');
    expect(listEntryProblem('example.com')).to.equal('is not an IP address or CIDR range');
    expect(listEntryProblem('fe80::%eth0/10')).to.equal('is a range with a zone id; give the range without it');
  });
});

describe('plugins/guards/ip-binding allow-lists when a policy loads', () => {
  it('refuses a malformed CIDR in ipBinding.allow when the policy loads, on its line, saying what is wrong', async () => {
    const file = variant('policies/electa.yaml', 'ipBinding: off', 'ipBinding: { mode: off, allow: { issue: [10.0.0.0/8, 10.0.0.0/33], verify: [fe80::/10, nonsense] } }');
    const line = readFileSync(file, 'utf8').split('\n').findIndex((text) => text.startsWith('ipBinding:')) + 1;
    const err = await boot({ policies: [file], env: ENV }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(PolicyInvalidError);
    expect((err as PolicyInvalidError).issues.map((i) => `${i.line} ${i.path}: ${i.message}`)).to.deep.equal([
      `${line} /ipBinding/allow/issue/1: "10.0.0.0/33" has an invalid prefix length; expected an address or a CIDR range such as 10.0.0.0/8 or 2001:db8::/32`,
      `${line} /ipBinding/allow/verify/1: "nonsense" is not an IP address or CIDR range; expected an address or a CIDR range such as 10.0.0.0/8 or 2001:db8::/32`,
    ]);
  });
});

describe('plugins/guards/ip-binding allow-lists (ipBinding.allow) over HTTP', () => {
  let h: Host;
  afterEach(() => h.close());

  describe('Electa: who may ask (issue) and where a session may be used (verify)', () => {
    const allow = '{ issue: [10.0.0.0/8, "2001:db8::/32"], verify: [192.0.2.0/24, "::ffff:198.51.100.0/120", "2001:db8:1::/48"] }';
    beforeEach(async () => {
      h = await host([variant('policies/electa.yaml', 'ipBinding: off', `ipBinding: { mode: off, allow: ${allow} }`)], ENV, ['127.0.0.1']);
    });
    const token = async (address: string) =>
      (await fetch(`${h.url}/apps/token.asp?${q({ CID: '42', AppKey: ENV.ELECTA_APPKEY, Result: 'csv' })}`, from(address))).text();
    const session = async (guid: string, address: string) =>
      (await fetch(`${h.url}/apps/session.asp?${q({ CID: '42', Token: guid, Result: 'csv' })}`, from(address))).text();

    it('issues to callers inside allow.issue (IPv4, IPv4-mapped, IPv6) and refuses others with code 10', async () => {
      for (const address of ['10.1.2.3', '::ffff:10.9.9.9', '2001:db8:5::1']) expect((await token(address)).slice(0, 2), address).to.equal('0,');
      for (const address of ['203.0.113.1', '11.0.0.1', '2001:db9::1', '::ffff:192.0.2.1']) {
        expect(await token(address), address).to.equal('10,API access is not allowed from this address');
      }
    });

    it('lets a session be used only from allow.verify (v4, a mapped range, v6), before it is looked up', async () => {
      const guid = (await token('10.1.2.3')).slice(2);
      for (const address of ['192.0.2.7', '198.51.100.9', '::ffff:192.0.2.8', '2001:db8:1:ff::1']) {
        expect(JSON.parse(await session(guid, address)), address).to.include({ ok: true });
      }
      for (const address of ['10.1.2.3', '198.51.101.9', '2001:db8:2::1']) {
        expect(await session(guid, address), address).to.equal('6,Session token used from another address');
      }
      // Outside the list, an unknown token is refused the same way: the caller learns nothing of it.
      expect(await session('00000000-0000-4000-8000-000000000000', '10.1.2.3')).to.equal('6,Session token used from another address');
      expect(await session('00000000-0000-4000-8000-000000000000', '192.0.2.7')).to.equal('4,Invalid or expired session token');
    });
  });

  describe('Melissa: binding stays inside allow.verify', () => {
    beforeEach(async () => {
      h = await host([variant('policies/melissa.yaml', 'ipBinding: { mode: param, param: IP }', 'ipBinding: { mode: param, param: IP, allow: { verify: ["2001:db8::/32", 192.0.2.0/24] } }')], ENV, ['127.0.0.1']);
    });
    const json = async (params: Record<string, string>, address: string) =>
      (await (await fetch(`${h.url}/v3/json/Service.svc/RequestToken?${q({ L: ENV.MELISSA_LICENSE, ...params })}`, from(address))).json()) as { Result: string; Token: string };

    it('refuses to bind a token to an address where it could not be used (TE04), and binds one inside', async () => {
      expect(await json({ IP: '203.0.113.5' }, '203.0.113.5')).to.deep.equal({ Result: 'TE04', Token: '' });
      const { Token } = await json({ IP: '2001:db8::7' }, '203.0.113.5');
      expect(Token).to.match(/^T:/);
      const use = async (address: string) => ((await (await fetch(`${h.url}/melissa/demo/ExpressFreeForm?${q({ id: Token })}`, from(address))).json()) as { ResultCode?: string; ok?: boolean });
      expect(await use('2001:db8::7')).to.include({ ok: true });
      expect((await use('2001:db8::8')).ResultCode).to.equal('GE13');
      expect((await use('192.0.2.1')).ResultCode).to.equal('GE13');
    });

    it('answers a caller outside allow.issue with TE09', async () => {
      await h.close();
      h = await host([variant('policies/melissa.yaml', 'ipBinding: { mode: param, param: IP }', 'ipBinding: { mode: param, allow: { issue: [127.0.0.1/32] } }')], ENV, ['127.0.0.1']);
      expect(await json({}, '203.0.113.5')).to.deep.equal({ Result: 'TE09', Token: '' });
    });
  });

});
