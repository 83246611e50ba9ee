/**
 * Which network addresses a stranger's image URL may make us connect to. Pure: no DNS,
 * no sockets. The HTTP fetcher (adapters/http-fetcher.ts) asks `classifyHost` about the
 * URL's host and `isForbiddenAddress` about every address a name resolves to, at
 * connect time.
 *
 * The rule is "public unicast only": anything loopback, private, link-local, shared,
 * multicast, reserved or documentation is forbidden, and so is anything we cannot
 * parse (fail closed). IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4, ...)
 * are judged by the IPv4 address they carry.
 *
 * Not ipaddr.js (declined, measured): with its parser and range matching in place of the
 * tables below, test/unit/ssrf.test.ts fails "::8.8.8.8 is forbidden": ipaddr.js 2.5 reads
 * `::a.b.c.d` as the IPv4-mapped `::ffff:a.b.c.d`, a different (public) address.
 */

type Cidr4 = readonly [base: number, prefix: number];

const FORBIDDEN_V4: readonly Cidr4[] = [
  [ip4(0, 0, 0, 0), 8], // "this network", includes 0.0.0.0
  [ip4(10, 0, 0, 0), 8], // private
  [ip4(100, 64, 0, 0), 10], // shared address space (CGNAT)
  [ip4(127, 0, 0, 0), 8], // loopback
  [ip4(169, 254, 0, 0), 16], // link-local, includes the cloud metadata service 169.254.169.254
  [ip4(172, 16, 0, 0), 12], // private
  [ip4(192, 0, 0, 0), 24], // IETF protocol assignments
  [ip4(192, 0, 2, 0), 24], // TEST-NET-1
  [ip4(192, 88, 99, 0), 24], // 6to4 relay anycast (deprecated)
  [ip4(192, 168, 0, 0), 16], // private
  [ip4(198, 18, 0, 0), 15], // benchmarking
  [ip4(198, 51, 100, 0), 24], // TEST-NET-2
  [ip4(203, 0, 113, 0), 24], // TEST-NET-3
  [ip4(224, 0, 0, 0), 4], // multicast
  [ip4(240, 0, 0, 0), 4], // reserved, includes broadcast 255.255.255.255
];

function ip4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

function inCidr4(addr: number, [base, prefix]: Cidr4): boolean {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return (addr & mask) >>> 0 === (base & mask) >>> 0;
}

function isForbiddenV4(addr: number): boolean {
  return FORBIDDEN_V4.some((cidr) => inCidr4(addr, cidr));
}

/** Strict dotted-quad decimal, as DNS answers and `new URL()` produce it. */
export function parseIPv4(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  // A leading zero would mean octal to some parsers; refuse the ambiguity.
  if (m.slice(1).some((p) => p.length > 1 && p.startsWith('0'))) return null;
  return ip4(parts[0]!, parts[1]!, parts[2]!, parts[3]!);
}

/** The eight 16-bit groups of an IPv6 address, or null. A zone (`%eth0`) is ignored. */
export function parseIPv6(input: string): number[] | null {
  let s = input;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return null;

  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (lastColon < 0) return null;
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = parseIPv4(last);
    if (v4 === null) return null;
    tail = [v4 >>> 16, v4 & 0xffff];
    // Keep a "::" intact; drop a single separating colon.
    s = s.slice(0, lastColon + 1);
    if (!s.endsWith('::')) s = s.slice(0, -1);
  }

  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0]!);
  if (!head) return null;
  if (halves.length === 1) {
    const all = [...head, ...tail];
    return all.length === 8 ? all : null;
  }
  const rest = groups(halves[1]!);
  if (!rest) return null;
  const known = head.length + rest.length + tail.length;
  if (known > 7) return null;
  return [...head, ...new Array<number>(8 - known).fill(0), ...rest, ...tail];
}

function v4From(hi: number, lo: number): number {
  return ((hi << 16) | lo) >>> 0;
}

function isForbiddenV6(g: number[]): boolean {
  const [g0, g1, g2, g3, g4, g5, g6, g7] = g as [number, number, number, number, number, number, number, number];
  const embedded = v4From(g6, g7);

  // ::/96 holds :: (unspecified), ::1 (loopback) and the deprecated IPv4-compatible
  // addresses, none of which a public image lives at.
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return true;
  // IPv4-mapped ::ffff:0:0/96 and IPv4-translated ::ffff:0:0:0/96: judged by the IPv4.
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff) return isForbiddenV4(embedded);
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0xffff && g5 === 0) return isForbiddenV4(embedded);
  // NAT64 well-known prefix 64:ff9b::/96: the translator connects to the embedded IPv4.
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return isForbiddenV4(embedded);
  // Local-use NAT64 64:ff9b:1::/48 (RFC 8215) belongs to a private translator whose
  // prefix length, and so where the IPv4 sits, we cannot know: forbid it whole.
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) return true;
  // 6to4 2002::/16 carries the IPv4 in the next 32 bits.
  if (g0 === 0x2002) return isForbiddenV4(v4From(g1, g2));

  // Only global unicast 2000::/3 is public. This excludes 100::/64 (discard),
  // fc00::/7 (unique local), fe80::/10 (link-local), fec0::/10 (site-local),
  // ff00::/8 (multicast) and every other unassigned or special block.
  if ((g0 & 0xe000) !== 0x2000) return true;
  // 2001::/23 is IETF protocol assignments: Teredo 2001::/32 (whose client address is
  // obfuscated and whose relay path is unknowable), benchmarking 2001:2::/48, ORCHID.
  if (g0 === 0x2001 && g1 < 0x200) return true;
  if (g0 === 0x2001 && g1 === 0x0db8) return true; // documentation
  if (g0 === 0x3fff && g1 < 0x1000) return true; // documentation 3fff::/20
  return false;
}

/**
 * True when connecting to `ip` could reach something that is not the public internet.
 * `ip` is a textual IPv4 (dotted quad) or IPv6 address (brackets allowed); anything
 * else is forbidden.
 */
export function isForbiddenAddress(ip: string): boolean {
  const s = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  const v4 = parseIPv4(s);
  if (v4 !== null) return isForbiddenV4(v4);
  const v6 = parseIPv6(s);
  if (v6 !== null) return isForbiddenV6(v6);
  return true;
}

/**
 * The WHATWG URL IPv4 parser: decimal, octal (leading 0), hex (0x), and fewer than four
 * parts (127.1, 2130706433). Returns null when the host is not an IPv4 spelling at all
 * (a domain name), 'invalid' when it looks like one but is malformed.
 */
function parseIPv4Loose(host: string): number | 'invalid' | null {
  const parts = host.split('.');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  const lastPart = parts[parts.length - 1] ?? '';
  // Per WHATWG, a host is an IPv4 address when its last label is a number.
  if (!/^(\d+|0[xX][0-9a-fA-F]*)$/.test(lastPart)) return null;
  if (parts.length > 4) return 'invalid';
  const nums: number[] = [];
  for (const p of parts) {
    let n: number;
    if (/^0[xX][0-9a-fA-F]*$/.test(p)) n = p.length === 2 ? 0 : parseInt(p.slice(2), 16);
    else if (/^0[0-7]+$/.test(p)) n = parseInt(p.slice(1), 8);
    else if (/^(0|[1-9]\d*)$/.test(p)) n = Number(p);
    else return 'invalid';
    nums.push(n);
  }
  const last = nums.pop()!;
  if (nums.some((n) => n > 255)) return 'invalid';
  if (last >= 256 ** (4 - nums.length)) return 'invalid';
  let addr = last;
  nums.forEach((n, i) => {
    addr += n * 256 ** (3 - i);
  });
  return addr;
}

function formatIPv4(addr: number): string {
  return [addr >>> 24, (addr >>> 16) & 255, (addr >>> 8) & 255, addr & 255].join('.');
}

export type HostClass =
  /** An address literal, in canonical form (IPv6 without brackets). */
  | { kind: 'ip'; address: string; family: 4 | 6; forbidden: boolean }
  /** A name; `forbidden` when the name itself is reserved for this machine. */
  | { kind: 'name'; name: string; forbidden: boolean }
  | { kind: 'invalid' };

/**
 * Classifies a URL host (`URL.hostname`: IPv6 in brackets). `new URL()` already turns
 * odd IPv4 spellings into dotted quads; this parses them too so the answer never depends
 * on the caller having done so.
 */
export function classifyHost(hostname: string): HostClass {
  const host = hostname.toLowerCase();
  if (host === '') return { kind: 'invalid' };
  if (host.startsWith('[')) {
    if (!host.endsWith(']')) return { kind: 'invalid' };
    const inner = host.slice(1, -1);
    const groups = parseIPv6(inner);
    if (!groups) return { kind: 'invalid' };
    return { kind: 'ip', address: inner, family: 6, forbidden: isForbiddenV6(groups) };
  }
  if (host.includes(':')) {
    const groups = parseIPv6(host);
    if (!groups) return { kind: 'invalid' };
    return { kind: 'ip', address: host, family: 6, forbidden: isForbiddenV6(groups) };
  }
  const v4 = parseIPv4Loose(host);
  if (v4 === 'invalid') return { kind: 'invalid' };
  if (v4 !== null) return { kind: 'ip', address: formatIPv4(v4), family: 4, forbidden: isForbiddenV4(v4) };
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(name)) return { kind: 'invalid' };
  // RFC 6761: localhost and its subdomains always mean this machine.
  const forbidden = name === 'localhost' || name.endsWith('.localhost');
  return { kind: 'name', name, forbidden };
}
