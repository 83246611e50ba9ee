/**
 * Opaque page cursors: the position after the last item (table keys), encrypted and
 * authenticated with AES-256-GCM under a key derived from CURSOR_SECRET, bound to the
 * query they came from, and expiring. Clients cannot read, forge or move them between
 * queries; any of that is a 400 `invalid_cursor`.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac } from 'node:crypto';
import { ApiError } from '../core/errors';

const VERSION = 1;
const TTL_MS = 24 * 3600 * 1000;
const HOUR_MS = 3600 * 1000;

export interface CursorCodec {
  encode(position: Record<string, string>, queryFingerprint: string, now?: number): string;
  decode(token: string, queryFingerprint: string, now?: number): Record<string, string>;
}

export function createCursorCodec(secret: string): CursorCodec {
  const key = createHash('sha256').update(`article-pipeline cursor v${VERSION}\0${secret}`).digest();
  const ivKey = createHash('sha256').update(`article-pipeline cursor iv v${VERSION}\0${secret}`).digest();
  return {
    encode(position, queryFingerprint, now = Date.now()) {
      // Expiry rounded up to the hour and a synthetic IV (HMAC of the plaintext) make the
      // same page give the same cursor for a while, so list responses keep a stable ETag.
      // GCM stays safe: an IV repeats only for the very same plaintext.
      const expires = Math.ceil((now + TTL_MS) / HOUR_MS) * HOUR_MS;
      const plain = Buffer.from(JSON.stringify({ v: VERSION, p: position, e: expires }));
      const iv = createHmac('sha256', ivKey).update(queryFingerprint).update('\0').update(plain).digest().subarray(0, 12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(queryFingerprint));
      const body = Buffer.concat([cipher.update(plain), cipher.final()]);
      return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
    },
    decode(token, queryFingerprint, now = Date.now()) {
      const raw = /^[A-Za-z0-9_-]{40,2000}$/.test(token) ? Buffer.from(token, 'base64url') : null;
      if (!raw || raw.length < 12 + 16 + 2) {
        throw new ApiError(400, 'invalid_cursor', 'cursor is not one this API issued: use the nextCursor of a previous page');
      }
      let parsed: { v: number; p: Record<string, string>; e: number };
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAAD(Buffer.from(queryFingerprint));
        decipher.setAuthTag(raw.subarray(raw.length - 16));
        const plain = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
        parsed = JSON.parse(plain.toString('utf8'));
      } catch {
        // A tampered cursor and one from another query fail the same authentication.
        throw new ApiError(
          400,
          'invalid_cursor',
          'cursor was altered or belongs to a different query: repeat the same filters as the page it came from, or start again without a cursor',
        );
      }
      if (parsed.v !== VERSION || typeof parsed.p !== 'object' || parsed.p === null) {
        throw new ApiError(400, 'invalid_cursor', 'cursor is from an older version of this API: start again without a cursor');
      }
      if (typeof parsed.e !== 'number' || parsed.e < now) {
        throw new ApiError(400, 'invalid_cursor', 'cursor has expired: start again without a cursor');
      }
      return parsed.p;
    },
  };
}
