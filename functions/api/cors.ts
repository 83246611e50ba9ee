/**
 * CORS, in one place browsers see: the HTTP API's own CORS configuration. With CORS set
 * on an HTTP API, API Gateway answers preflight itself and replaces whatever CORS headers
 * the function sends, so the function sends none. infra/constructs/query-api.ts configures
 * API Gateway from these settings, and the local stack (local/api-server.ts) behaves the
 * same way with the same settings.
 */
export const CORS = {
  allowMethods: ['GET', 'HEAD', 'OPTIONS'],
  /** Revalidation, and what a SigV4-signed browser call to an operator route sends. */
  allowHeaders: ['content-type', 'if-none-match', 'authorization', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256'],
  exposeHeaders: ['etag'],
  maxAgeSeconds: 86_400,
} as const;

function allowedOrigin(origin: string | undefined, allowed: readonly string[]): string | null {
  if (!origin) return null;
  if (allowed.includes('*')) return '*';
  return allowed.includes(origin) ? origin : null;
}

/** Headers API Gateway adds to an answer for a request with `Origin` (none when not allowed). */
export function corsResponseHeaders(origin: string | undefined, allowed: readonly string[]): Record<string, string> {
  const allow = allowedOrigin(origin, allowed);
  if (!allow) return {};
  return { 'access-control-allow-origin': allow, 'access-control-expose-headers': CORS.exposeHeaders.join(','), ...(allow === '*' ? {} : { vary: 'origin' }) };
}

/** A preflight: OPTIONS with `Origin` and `Access-Control-Request-Method`. */
export function isPreflight(method: string, headers: Record<string, string | undefined>): boolean {
  return method === 'OPTIONS' && !!headers.origin && !!headers['access-control-request-method'];
}

/** API Gateway's own answer to a preflight: 204, with the CORS headers when the origin is allowed. */
export function preflightHeaders(origin: string | undefined, allowed: readonly string[]): Record<string, string> {
  const allow = allowedOrigin(origin, allowed);
  if (!allow) return {};
  return {
    'access-control-allow-origin': allow,
    'access-control-allow-methods': CORS.allowMethods.join(','),
    'access-control-allow-headers': CORS.allowHeaders.join(','),
    'access-control-max-age': String(CORS.maxAgeSeconds),
    ...(allow === '*' ? {} : { vary: 'origin' }),
  };
}
