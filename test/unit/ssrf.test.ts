import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyHost, isForbiddenAddress, parseIPv6 } from '../../functions/core/ssrf';

describe('isForbiddenAddress: IPv4', () => {
  it.each([
    '0.0.0.0',
    '0.1.2.3',
    '10.0.0.1',
    '10.255.255.255',
    '100.64.0.1',
    '100.127.255.254',
    '127.0.0.1',
    '127.0.0.2',
    '127.255.255.255',
    '169.254.0.1',
    '169.254.169.254',
    '172.16.0.1',
    '172.31.255.255',
    '192.0.0.8',
    '192.0.2.1',
    '192.88.99.1',
    '192.168.0.1',
    '192.168.255.255',
    '198.18.0.1',
    '198.19.255.255',
    '198.51.100.7',
    '203.0.113.9',
    '224.0.0.1',
    '239.255.255.250',
    '240.0.0.1',
    '255.255.255.255',
  ])('%s is forbidden', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(true);
  });

  it.each([
    '1.1.1.1',
    '8.8.8.8',
    '93.184.216.34',
    '9.255.255.255', // just below 10/8
    '11.0.0.0', // just above 10/8
    '100.63.255.255', // just below 100.64/10
    '100.128.0.0', // just above
    '172.15.255.255',
    '172.32.0.0',
    '169.253.255.255',
    '192.167.255.255',
    '192.169.0.0',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255', // last before multicast
  ])('%s is public', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(false);
  });

  it.each(['127.1', '2130706433', '0177.0.0.1', '0x7f.0.0.1', '1.2.3.256', '01.2.3.4', 'localhost', '', 'not an ip'])(
    'a non-canonical or unparseable %j fails closed',
    (ip) => {
      expect(isForbiddenAddress(ip)).toBe(true);
    },
  );
});

describe('isForbiddenAddress: IPv6', () => {
  it.each([
    '::',
    '::1',
    '[::1]',
    '0:0:0:0:0:0:0:1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '::ffff:169.254.169.254',
    '::ffff:0:7f00:1', // IPv4-translated
    '::127.0.0.1', // IPv4-compatible
    '::8.8.8.8', // IPv4-compatible is deprecated altogether
    '64:ff9b::7f00:1', // NAT64 of 127.0.0.1
    '64:ff9b::192.168.1.1',
    '64:ff9b::a9fe:a9fe', // NAT64 of 169.254.169.254
    '64:ff9b:1::8.8.8.8', // local-use NAT64
    '2002:7f00:1::', // 6to4 of 127.0.0.1
    '2002:c0a8:101::1', // 6to4 of 192.168.1.1
    '2002:a9fe:a9fe::1',
    '2001::1', // Teredo
    '2001:0:4136:e378:8000:63bf:3fff:fdd2',
    '2001:2::1', // benchmarking
    '2001:db8::1', // documentation
    '3fff::1', // documentation (RFC 9637)
    '100::1', // discard
    'fc00::1',
    'fd12:3456:789a::1',
    'fe80::1',
    'fe80::1%eth0',
    'febf:ffff::1',
    'fec0::1',
    'ff02::1',
    'ff05::1:3',
    '1::', // outside 2000::/3
    '4000::1',
  ])('%s is forbidden', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(true);
  });

  it.each([
    '2606:4700:4700::1111',
    '2001:4860:4860::8888',
    '2a00:1450:4001:80b::200e',
    '::ffff:8.8.8.8',
    '::ffff:808:808',
    '64:ff9b::8.8.8.8',
    '2002:808:808::1',
  ])('%s is public', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(false);
  });

  it.each([':::', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'g::1', '::ffff:1.2.3', '1:2:3:4:5:6:7:8::'])(
    'malformed %j fails closed',
    (ip) => {
      expect(isForbiddenAddress(ip)).toBe(true);
    },
  );

  it('parses IPv6 with an embedded IPv4 tail', () => {
    expect(parseIPv6('1:2:3:4:5:6:1.2.3.4')).toEqual([1, 2, 3, 4, 5, 6, 0x102, 0x304]);
    expect(parseIPv6('::ffff:127.0.0.1')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]);
    expect(parseIPv6('1::')).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe('IPv4 embedded in IPv6 is judged by the IPv4 (property)', () => {
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
  const hex = (a: number, b: number) => ((a << 8) | b).toString(16);

  it('mapped, NAT64 and 6to4 forms agree with the plain address', () => {
    fc.assert(
      fc.property(v4, ([a, b, c, d]) => {
        const plain = isForbiddenAddress(`${a}.${b}.${c}.${d}`);
        expect(isForbiddenAddress(`::ffff:${a}.${b}.${c}.${d}`)).toBe(plain);
        expect(isForbiddenAddress(`::ffff:${hex(a, b)}:${hex(c, d)}`)).toBe(plain);
        expect(isForbiddenAddress(`64:ff9b::${hex(a, b)}:${hex(c, d)}`)).toBe(plain);
        expect(isForbiddenAddress(`2002:${hex(a, b)}:${hex(c, d)}::1`)).toBe(plain);
      }),
    );
  });

  it('every address in a private block stays forbidden in every spelling', () => {
    fc.assert(
      fc.property(fc.nat(255), fc.nat(255), fc.nat(255), (b, c, d) => {
        for (const ip of [`10.${b}.${c}.${d}`, `127.${b}.${c}.${d}`, `192.168.${c}.${d}`, `169.254.${c}.${d}`]) {
          expect(isForbiddenAddress(ip)).toBe(true);
          expect(isForbiddenAddress(`::ffff:${ip}`)).toBe(true);
          expect(isForbiddenAddress(`64:ff9b::${ip}`)).toBe(true);
        }
      }),
    );
  });
});

describe('classifyHost', () => {
  it.each([
    ['2130706433', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['0x7f.0.0.1', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['127.0.1', '127.0.0.1'],
    ['0', '0.0.0.0'],
    ['0.0.0.0', '0.0.0.0'],
    ['017700000001', '127.0.0.1'],
    ['169.254.43518', '169.254.169.254'],
    ['0xA9FEA9FE', '169.254.169.254'],
    ['127.0.0.1.', '127.0.0.1'],
  ])('odd IPv4 spelling %j is %s and forbidden', (host, canonical) => {
    expect(classifyHost(host)).toEqual({ kind: 'ip', address: canonical, family: 4, forbidden: true });
  });

  it('agrees with new URL() on how odd IPv4 spellings are read', () => {
    for (const host of ['2130706433', '0177.0.0.1', '0x7f.0.0.1', '127.1', '0xA9FEA9FE', '8.8.2056']) {
      const viaUrl = new URL(`http://${host}/`).hostname;
      const c = classifyHost(host);
      expect(c.kind === 'ip' && c.address).toBe(viaUrl);
    }
  });

  it.each(['[::1]', '[::]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '::1', '[fe80::1]'])(
    'IPv6 literal %s is forbidden',
    (host) => {
      const c = classifyHost(host);
      expect(c.kind).toBe('ip');
      expect(c.kind === 'ip' && c.family).toBe(6);
      expect(c.kind === 'ip' && c.forbidden).toBe(true);
    },
  );

  it('public literals and names are not forbidden', () => {
    expect(classifyHost('8.8.8.8')).toEqual({ kind: 'ip', address: '8.8.8.8', family: 4, forbidden: false });
    expect(classifyHost('[2606:4700:4700::1111]')).toMatchObject({ kind: 'ip', forbidden: false });
    expect(classifyHost('images.example.com')).toEqual({ kind: 'name', name: 'images.example.com', forbidden: false });
    expect(classifyHost('Example.COM.')).toEqual({ kind: 'name', name: 'example.com', forbidden: false });
  });

  it('localhost and its subdomains are forbidden by name', () => {
    expect(classifyHost('localhost')).toMatchObject({ kind: 'name', forbidden: true });
    expect(classifyHost('LOCALHOST.')).toMatchObject({ kind: 'name', forbidden: true });
    expect(classifyHost('evil.localhost')).toMatchObject({ kind: 'name', forbidden: true });
    expect(classifyHost('localhost.example.com')).toMatchObject({ kind: 'name', forbidden: false });
  });

  it.each(['', '1.2.3.4.5', '256.0.0.1', '0x7g.0.0.1', '09.0.0.1', '[::1', '[1::2::3]', 'a b'])('%j is invalid', (host) => {
    expect(classifyHost(host)).toEqual({ kind: 'invalid' });
  });
});
