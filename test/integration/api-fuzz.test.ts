/**
 * Hostile requests against the local stack's query API over HTTP (fast-check): paths,
 * broken percent-escapes, huge and unicode values, repeated and unknown parameters, `to`
 * without `from`, `from` after `to`, every method, odd headers, signed and unsigned. No
 * answer may be a 5xx, every JSON answer must fit the OpenAPI document, and no unsigned
 * answer may show the draft this file uploads.
 */
import { request } from 'node:http';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { signedHeaders } from '../../local/sigv4';
import { findBySourceKey, openApiChecker, settle, stack, uniq, upload } from './helpers';

const RUNS = 2000;
const ns = uniq('fuzz');
const DRAFT_MARK = `${ns}-secret-draft`;
const CATEGORY = `${ns}-cat`;
let draftId = '';
let check: Awaited<ReturnType<typeof openApiChecker>>;

function raw(method: string, path: string, headers: Record<string, string>): Promise<{ status: number; type: string; body: string }> {
  const { hostname, port } = new URL(stack.apiUrl);
  return new Promise((ok, fail) => {
    const req = request({ hostname, port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', fail);
    req.end();
  });
}

/** Percent-encodes what Node refuses to send raw, and leaves every `%` as written (broken escapes stay broken). */
const wire = (s: string) => s.replace(/[^\x21-\x7e]|[#?]/gu, (c) => encodeURIComponent(c));

const brokenEscape = fc.constantFrom('%', '%E0%A4%A', '%ZZ', '%00', '%C0%AF', '%ED%A0%80', '%2F', '%25', '%u0041', '%%', '%E2%82');
const unicode = fc.string({ unit: 'grapheme', maxLength: 30 });
const hugeValue = fc.integer({ min: 1000, max: 6000 }).map((n) => 'x'.repeat(n));
const segment = fc.oneof(
  fc.constantFrom('articles', 'admin', 'categories', 'tags', 'authors', 'health', 'openapi.json', '..', '.', '', 'ARTICLES', 'Admin'),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,70}$/),
  brokenEscape,
  unicode,
  hugeValue,
);
const path = fc.oneof(
  fc.constantFrom('/articles', '/admin/articles', '/categories', '/tags', '/authors', '/health', '/openapi.json', '/admin', '/admin/', '/articles/'),
  fc.tuple(fc.constantFrom('/articles/', '/admin/articles/'), fc.oneof(segment, fc.constant('__DRAFT__'))).map(([a, b]) => a + b),
  fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join('/')}`),
);

const date = fc.oneof(
  fc.date({ min: new Date('1900-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
  fc.date({ min: new Date('1900-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('2024-02-30', '2030-01-01', '0000-00-00', '9999-12-31T23:59:59Z', '2024-13-01', 'yesterday', '2024-01-01T25:00Z', ''),
);
const value = fc.oneof(
  date,
  fc.constantFrom('published', 'draft', 'failed', 'scheduled', 'deleted', '0', '1', '20', '100', '101', '-1', '1e2', 'NaN', CATEGORY, '__DRAFT__'),
  fc.integer({ min: -5, max: 200 }).map(String),
  unicode,
  brokenEscape,
  hugeValue,
);
const key = fc.oneof(
  fc.constantFrom('limit', 'cursor', 'category', 'tag', 'author', 'slug', 'from', 'to', 'status', 'q'),
  fc.stringMatching(/^[a-z_]{1,12}$/),
  unicode,
  brokenEscape,
);
const query = fc.oneof(
  fc.constant(''),
  fc.array(fc.tuple(key, value), { maxLength: 6 }).map((pairs) => pairs.map(([k, v]) => `${wire(k)}=${wire(v)}`).join('&')),
  // The cases: to without from, from after to.
  fc.tuple(date).map(([t]) => `to=${wire(t)}`),
  fc.tuple(date, date).map(([a, b]) => `from=${wire(a)}&to=${wire(b)}`),
  // Repeated parameters (API Gateway joins them with commas).
  fc.tuple(fc.constantFrom('limit', 'status', 'category', 'from'), value, value).map(([k, a, b]) => `${k}=${wire(a)}&${k}=${wire(b)}`),
);
// Every method Node's client can send as a plain request (CONNECT opens a tunnel instead).
const method = fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'DELETE', 'PATCH', 'TRACE', 'PROPFIND', 'SEARCH');
const headers = fc.record(
  {
    'if-none-match': fc.oneof(fc.constant('*'), fc.string({ maxLength: 80 }).map(wire), fc.constant('W/"abc", "def"')),
    origin: fc.constantFrom('https://site.example', 'null', 'http://evil.example'),
    'access-control-request-method': fc.constantFrom('GET', 'DELETE'),
    authorization: fc.oneof(fc.constant('AWS4-HMAC-SHA256 Credential=S3RVER/20260101/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=' + '0'.repeat(64)), fc.string({ maxLength: 200 }).map(wire)),
    'x-amz-date': fc.constantFrom('20260101T000000Z', 'garbage', ''),
    accept: fc.constantFrom('application/json', '*/*', 'text/html'),
    'content-type': fc.constantFrom('application/json', 'text/plain'),
  },
  { requiredKeys: [] },
);

describe('hostile requests at the query API over HTTP', () => {
  beforeAll(async () => {
    await upload(`${ns}/draft.md`, `---\ntitle: ${DRAFT_MARK}\ncategories: [${CATEGORY}]\nslug: ${ns}-draft\ndraft: true\n---\nbody ${DRAFT_MARK}\n`);
    await settle();
    draftId = (await findBySourceKey(`${ns}/draft.md`, 'draft')).id;
    check = await openApiChecker();
  });

  it(`answers ${RUNS}+ generated requests without a 5xx, each valid against the OpenAPI document`, async () => {
    let sent = 0;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(method, path, query, headers, fc.boolean(), async (m, p, q, h, signed) => {
        const target = (q ? `${wire(p)}?${q}` : wire(p)).replaceAll('__DRAFT__', draftId);
        let all: Record<string, string> = Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>;
        if (signed) {
          // A well-signed request for whatever URL the target makes (an unparsable one stays unsigned).
          const url = URL.canParse(target, stack.apiUrl) ? new URL(target, stack.apiUrl) : null;
          if (url) {
            const { host: _h, ...sig } = await signedHeaders(url, undefined, { method: m === 'HEAD' ? 'HEAD' : 'GET' });
            all = { ...all, ...sig };
          }
        }
        const res = await raw(m, target, all);
        sent++;
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.status, `${m} ${target}`).toBeLessThan(500);
        if (!signed) expect(res.body, `${m} ${target}`).not.toContain(DRAFT_MARK);
        const routable = !target.startsWith('//') && URL.canParse(target, 'http://x');
        const pathname = routable ? new URL(target, 'http://x').pathname : null;
        // The local stack's viewer page (`/`, `/viewer/...`) is not part of the API.
        if (pathname === '/' || pathname?.startsWith('/viewer/')) return;
        if (m === 'HEAD' || res.status === 204 || res.status === 304) return;
        expect(res.type, `${m} ${target}`).toMatch(/^application\/json/);
        const body = JSON.parse(res.body);
        if (m !== 'GET' || !pathname) {
          // Read-only: 405 (or 403 first on an operator path; 400 for a target that is no path).
          expect([400, 403, 405], `${m} ${target}`).toContain(res.status);
          expect(check('/no-such-route', res.status, body), `${m} ${target}`).toBeNull();
          return;
        }
        expect(check(pathname, res.status, body), `${m} ${target}`).toBeNull();
      }),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 20261201), endOnFailure: true },
    );
    expect(sent).toBeGreaterThanOrEqual(RUNS);
    console.log(`api fuzz: ${sent} requests, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`);
  }, 600_000);
});
