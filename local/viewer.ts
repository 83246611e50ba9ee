/**
 * The viewer page of the local stack: `GET /` and the static files under `/viewer/`.
 * It is a plain page on the public query API (same origin), so nothing here knows about
 * articles; this route only serves files from local/viewer/.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LocalRoute } from './api-server';

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
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
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
