import { expect } from 'chai';
import { normalizeAddress } from '../../core/address.js';
import { TrustedProxies, clientAddress } from '../../server/client-ip.js';

describe('core/address normalizeAddress', () => {
  const cases: [string, string | undefined][] = [
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::FFFF:192.0.2.7', '192.0.2.7'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['[::1]', '::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    [' 10.0.0.1 ', '10.0.0.1'],
    ['999.1.1.1', undefined],
    ['localhost', undefined],
    ['', undefined],
    // IPv6 zone ids: kept after the canonical address; refused when malformed or on IPv4.
    ['fe80::1%eth0', 'fe80::1%eth0'],
    ['FE80:0:0::1%eth0', 'fe80::1%eth0'],
    ['[fe80::1%eth0]', 'fe80::1%eth0'],
    ['fe80::1%3', 'fe80::1%3'],
    ['fe80::1%25eth0', 'fe80::1%25eth0'],
    ['fe80::1%', undefined],
    ['fe80::1%eth0:1', undefined],
    ['fe80::1%a%b', undefined],
    [`fe80::1%${'a'.repeat(65)}`, undefined],
    ['::ffff:10.0.0.1%eth0', undefined],
  ];
  for (const [input, expected] of cases) {
    it(`normalizes ${JSON.stringify(input)} to ${String(expected)}`, () => {
      expect(normalizeAddress(input)).to.equal(expected);
    });
  }
});

describe('server/client-ip', () => {
  describe('clientAddress', () => {
    const trusted = new TrustedProxies(['10.0.0.0/8', '::1']);
    it('is the peer when the peer is not trusted, whatever the header says', () => {
      expect(clientAddress('198.51.100.1', '203.0.113.7', trusted)).to.equal('198.51.100.1');
    });
    it('reads X-Forwarded-For right to left past trusted proxies', () => {
      expect(clientAddress('10.0.0.2', '203.0.113.7, 10.0.0.1', trusted)).to.equal('203.0.113.7');
      expect(clientAddress('::1', '203.0.113.7', trusted)).to.equal('203.0.113.7');
      expect(clientAddress('::ffff:10.0.0.2', '203.0.113.7', trusted)).to.equal('203.0.113.7');
    });
    it('never believes a forged left-most entry', () => {
      expect(clientAddress('10.0.0.2', '1.1.1.1, 203.0.113.7', trusted)).to.equal('203.0.113.7');
    });
    it('stops at garbage in the header', () => {
      expect(clientAddress('10.0.0.2', 'nonsense, 10.0.0.3', trusted)).to.equal('10.0.0.3');
    });
    it('is the peer without a header', () => {
      expect(clientAddress('10.0.0.2', undefined, trusted)).to.equal('10.0.0.2');
    });
    it('keeps a zone id from the socket or a trusted proxy, and stops at a malformed one', () => {
      expect(clientAddress('fe80::1%eth0', '203.0.113.7', trusted)).to.equal('fe80::1%eth0');
      expect(clientAddress('10.0.0.2', 'FE80::1%eth0', trusted)).to.equal('fe80::1%eth0');
      expect(clientAddress('10.0.0.2', 'fe80::1%bad zone', trusted)).to.equal('10.0.0.2');
    });
  });
  describe('TrustedProxies', () => {
    it('refuses an entry that is not an address or range', () => {
      expect(() => new TrustedProxies(['example.com'])).to.throw(TypeError, 'trusted proxy "example.com" is not an IP address or CIDR range');
      expect(() => new TrustedProxies(['10.0.0.0/33'])).to.throw(TypeError, 'trusted proxy "10.0.0.0/33" has an invalid prefix length');
      expect(() => new TrustedProxies(['fe80::%eth0/10'])).to.throw(TypeError, 'trusted proxy "fe80::%eth0/10" is a range with a zone id; give the range without it');
    });
    it('trusts an entry without a zone on every link, and one with a zone on that link only', () => {
      const proxies = new TrustedProxies(['fe80::1', 'fe80::2%eth0', 'fd00::/8']);
      expect(['fe80::1', 'fe80::1%eth0', 'fe80::1%eth1', 'fe80::2%eth0', 'fd00::7%eth1'].map((a) => proxies.has(a))).to.deep.equal([true, true, true, true, true]);
      expect(['fe80::2', 'fe80::2%eth1', 'fe80::3%eth0', 'fe80::2%bad zone'].map((a) => proxies.has(a))).to.deep.equal([false, false, false, false]);
    });
  });
});
