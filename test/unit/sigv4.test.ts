/**
 * The local stack's SigV4 check (local/sigv4.ts): a signature from the AWS SDK's signer
 * passes; anything changed after signing, another key, scope or an old date does not.
 */
import { describe, expect, it } from 'vitest';
import { LOCAL_KEY, MAX_SKEW_MS, signedHeaders, verifySigV4, type IncomingSigned } from '../../local/sigv4';

const URL_ = 'http://127.0.0.1:3000/admin/articles?status=draft&limit=5';

async function incoming(url = URL_, opts: Parameters<typeof signedHeaders>[2] = {}, key = LOCAL_KEY): Promise<IncomingSigned> {
  const u = new URL(url);
  return { method: 'GET', rawPath: u.pathname, rawQuery: u.search.slice(1), headers: await signedHeaders(u, key, opts), body: new Uint8Array() };
}

describe('verifySigV4', () => {
  it('accepts what the SDK signer signed, with parameters in any order', async () => {
    const req = await incoming();
    expect(await verifySigV4(req)).toEqual({ ok: true, accessKey: 'S3RVER' });
    expect(await verifySigV4({ ...req, rawQuery: 'limit=5&status=draft' })).toMatchObject({ ok: true });
  });

  it('refuses a changed path, query, method, host or signature', async () => {
    const req = await incoming();
    const cases: IncomingSigned[] = [
      { ...req, rawPath: '/admin/articles/x' },
      { ...req, rawQuery: 'status=failed&limit=5' },
      { ...req, method: 'HEAD' },
      { ...req, headers: { ...req.headers, host: '127.0.0.1:3001' } },
      { ...req, headers: { ...req.headers, authorization: req.headers.authorization!.replace(/.$/, (c) => (c === '0' ? '1' : '0')) } },
    ];
    for (const c of cases) expect((await verifySigV4(c)).ok).toBe(false);
  });

  it('refuses another secret, key id, region or service, and no signature at all', async () => {
    expect(await verifySigV4(await incoming(URL_, {}, { ...LOCAL_KEY, secretAccessKey: 'x' }))).toMatchObject({ ok: false, reason: /does not match/ });
    expect(await verifySigV4(await incoming(URL_, {}, { ...LOCAL_KEY, accessKeyId: 'AKID' }))).toMatchObject({ ok: false, reason: /key/ });
    expect(await verifySigV4(await incoming(URL_, {}, { ...LOCAL_KEY, region: 'eu-west-1' }))).toMatchObject({ ok: false, reason: /scope/ });
    const req = await incoming();
    const s3 = req.headers.authorization!.replace('/execute-api/', '/s3/');
    expect(await verifySigV4({ ...req, headers: { ...req.headers, authorization: s3 } })).toMatchObject({ ok: false, reason: /scope/ });
    expect(await verifySigV4({ ...req, headers: { host: req.headers.host } })).toMatchObject({ ok: false, reason: /not signed/ });
  });

  it('allows 5 minutes of clock skew either way, not more', async () => {
    const now = Date.now();
    const at = (offset: number) => incoming(URL_, { date: new Date(now + offset) });
    expect((await verifySigV4(await at(-MAX_SKEW_MS + 5000), LOCAL_KEY, now)).ok).toBe(true);
    expect((await verifySigV4(await at(MAX_SKEW_MS - 5000), LOCAL_KEY, now)).ok).toBe(true);
    expect(await verifySigV4(await at(-MAX_SKEW_MS - 5000), LOCAL_KEY, now)).toMatchObject({ ok: false, reason: /expired/ });
    expect(await verifySigV4(await at(MAX_SKEW_MS + 5000), LOCAL_KEY, now)).toMatchObject({ ok: false, reason: /expired/ });
  });
});
