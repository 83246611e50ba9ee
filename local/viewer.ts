/**
 * The viewer page of the local stack: `GET /` and the static files under `/viewer/`.
 * It is a plain page on the public query API (same origin), so nothing here knows about
 * articles; this route serves files from local/viewer/, and one operator path:
 *
 * `/viewer/operator/articles[/{id}]` forwards to the operator routes (`/admin/articles...`)
 * of this same server, signed with the local key pair: the Problems view lists failed
 * articles and warnings, which the public routes never show, and a browser page cannot
 * sign (it would need the secret). It exists only in the local stack, on loopback, for
 * the operator at this machine; nothing like it is deployed.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LocalRoute } from './api-server';
import { signedFetch } from './sigv4';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/**
 * The page inserts server-rendered article HTML: scripts only from this origin, and no inline
 * script or handler even if one slipped through sanitizing. Images come from the media
 * bucket or, for images that could not be re-hosted, their original address: any origin.
 * Processed bodies keep inline `style` attributes, hence 'unsafe-inline' for styles only.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  'img-src * data:',
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const FILE_NAME = /^[a-z0-9][a-z0-9._-]*$/i;

/** Serves `GET|HEAD /` (index.html) and `/viewer/<file>` from `dir` (default local/viewer/). */
export function viewerRoute(dir = fileURLToPath(new URL('./viewer/', import.meta.url))): LocalRoute {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const target = req.url ?? '/';
    if (target.startsWith('/viewer/operator/')) return operator(req, res);
    // A target that is no path ("//host...", a broken one) is not the viewer's: the API answers it (400).
    if (!target.startsWith('/') || target.startsWith('//') || !URL.canParse(target, 'http://localhost')) return false;
    const path = new URL(target, 'http://localhost').pathname;
    let name: string;
    if (path === '/') name = 'index.html';
    else if (path.startsWith('/viewer/')) name = path.slice('/viewer/'.length);
    else return false;

    const text = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
      return true;
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'method not allowed\n', { allow: 'GET, HEAD' });
    // One flat directory: a plain file name or nothing, so no path can leave it.
    const type = TYPES[extname(name).toLowerCase()];
    if (!FILE_NAME.test(name) || !type) return text(404, 'not found\n');

    let body: Buffer;
    try {
      body = await readFile(join(dir, name));
    } catch {
      return text(404, 'not found\n');
    }
    // No build step, so no hashed names: the browser may keep files but asks each time
    // (a 304 on an unchanged ETag), and an edited file shows on the next reload.
    // Text goes gzipped when the browser takes it: the page is a few KB on the wire.
    const gzip = (type.startsWith('text/') || type === 'image/svg+xml') && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const hash = createHash('sha256').update(body).digest('base64url').slice(0, 27);
    const etag = `"${hash}${gzip ? '-gz' : ''}"`;
    const headers: Record<string, string | number> = {
      'content-type': type,
      'cache-control': 'no-cache',
      etag,
      vary: 'accept-encoding',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    };
    if (gzip) headers['content-encoding'] = 'gzip';
    if (type.startsWith('text/html')) headers['content-security-policy'] = CSP;
    const inm = req.headers['if-none-match'];
    if (inm && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    if (gzip) body = gzipSync(body);
    headers['content-length'] = body.length;
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}

const OPERATOR = /^\/viewer\/operator(\/articles(?:\/[A-Za-z0-9_-]{1,64})?(?:\?[^#]*)?)$/;

/** `GET /viewer/operator/articles...` → the signed `GET /admin/articles...` of this server. */
async function operator(req: IncomingMessage, res: ServerResponse): Promise<true> {
  const m = OPERATOR.exec(req.url ?? '');
  const reply = (status: number, body: string, type = 'application/json; charset=utf-8') => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.end(body);
    return true as const;
  };
  if (req.method !== 'GET') return reply(405, JSON.stringify({ error: { code: 'method_not_allowed', message: 'GET only' } }));
  if (!m) return reply(404, JSON.stringify({ error: { code: 'not_found', message: 'no such operator path' } }));
  const { localAddress, localPort } = req.socket;
  const host = localAddress?.includes(':') ? `[${localAddress}]` : localAddress;
  const upstream = await signedFetch(`http://${host}:${localPort}/admin${m[1]}`);
  return reply(upstream.status, await upstream.text(), upstream.headers.get('content-type') ?? 'application/json; charset=utf-8');
}
