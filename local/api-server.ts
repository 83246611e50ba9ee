/**
 * Local HTTP front for the query API: every request becomes an API Gateway HTTP API
 * (payload format 2.0) event for the same Lambda handler, and its result becomes the
 * HTTP response, as API Gateway would do it. Like the deployed HTTP API it also
 * - authorizes the operator routes (`/admin`, `/admin/...`) by SigV4, with the local key
 *   pair (local/sigv4.ts), passing the caller on as `requestContext.authorizer.iam`;
 * - owns CORS (functions/api/cors.ts): answers preflight itself and sets the CORS headers
 *   of every answer, whatever the handler sent;
 * - fails a response over Lambda's 6 MB payload limit with API Gateway's 500.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { corsResponseHeaders, isPreflight, preflightHeaders } from '../functions/api/cors';
import { isOperatorPath } from '../functions/api/paths';
import { DEFAULTS } from '../functions/definitions';
import { LOCAL_KEY, verifySigV4, type SigningKey } from './sigv4';

/**
 * Lambda's limit on a synchronous invocation's response (6 MB): the result object as JSON.
 * Past it Lambda fails the invocation and API Gateway answers 500; so does this server.
 */
export const LAMBDA_RESPONSE_MAX_BYTES = 6_291_456;

export type HttpApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2 | string>;

/** Extra routes served by the local stack itself (the viewer page). Return false to pass. */
export type LocalRoute = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;


function parseTarget(req: IncomingMessage): URL | null {
  const target = req.url ?? '/';
  // Origin-form only ("/path?query"); anything else (absolute-form, "*", "//host") is a bad request.
  if (!target.startsWith('/') || target.startsWith('//')) return null;
  try {
    return new URL(target, 'http://localhost');
  } catch {
    return null;
  }
}

export function toHttpApiEvent(req: IncomingMessage, body: Buffer, url = parseTarget(req) ?? new URL('http://localhost/')): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || k === 'cookie') continue;
    headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  }
  // API Gateway joins repeated query parameters with commas.
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const rawQuery = url.search.replace(/^\?/, '');
  const method = (req.method ?? 'GET').toUpperCase();
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: rawQuery,
    cookies: req.headers.cookie ? req.headers.cookie.split(/;\s*/) : undefined,
    headers,
    queryStringParameters: Object.keys(query).length ? query : undefined,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    body: body.length ? body.toString('base64') : undefined,
    isBase64Encoded: body.length > 0,
  };
}

function send(res: ServerResponse, result: APIGatewayProxyStructuredResultV2 | string, head: boolean): void {
  const r: APIGatewayProxyStructuredResultV2 =
    typeof result === 'string' ? { statusCode: 200, body: result, headers: { 'content-type': 'application/json' } } : result;
  const body = r.body ? Buffer.from(r.body, r.isBase64Encoded ? 'base64' : 'utf8') : Buffer.alloc(0);
  const headers: Record<string, string | number | string[]> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k] = String(v);
  if (r.cookies?.length) headers['set-cookie'] = r.cookies;
  headers['content-length'] = body.length;
  res.writeHead(r.statusCode ?? 200, headers);
  res.end(head ? undefined : body);
}

function errorResult(status: number, code: string, message: string): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body: JSON.stringify({ error: { code, message } }),
  };
}

/**
 * A request Node cannot parse never reaches the handler; Node's default answer is an
 * empty 400. The commonest cause is a query written with raw UTF-8 (`?category=旅行`
 * typed into curl without -G --data-urlencode): answer it with the API's error shape and
 * the fix.
 */
export function answerUnreadableRequest(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const message =
    err.code === 'HPE_INVALID_URL'
      ? 'the request line holds characters that must be percent-encoded (such as non-ASCII letters in the query): ' +
        "encode them, e.g. curl -G --data-urlencode 'category=旅行' <api>/articles"
      : tooLarge
        ? 'the request headers are too large'
        : `the request is not valid HTTP (${err.code ?? 'parse error'})`;
  const body = JSON.stringify({ error: { code: tooLarge ? 'headers_too_large' : 'invalid_request', message } });
  socket.end(
    `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\n` +
      'content-type: application/json\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      'connection: close\r\n\r\n' +
      body,
  );
}

export async function startApiServer(opts: {
  port: number;
  handler: HttpApiHandler;
  routes?: LocalRoute[];
  /** Origins CORS allows (CORS_ALLOWED_ORIGINS); default `*`. */
  corsAllowedOrigins?: string[];
  /** The key pair operator routes must be signed with; default S3RVER/S3RVER, us-east-1. */
  signingKey?: SigningKey;
  onError?: (err: unknown) => void;
}): Promise<{ url: string; server: Server; stop(): Promise<void> }> {
  const allowed = opts.corsAllowedOrigins ?? ['*'];
  const key = opts.signingKey ?? LOCAL_KEY;

  async function answer(req: IncomingMessage, body: Buffer): Promise<APIGatewayProxyStructuredResultV2 | string> {
    const method = (req.method ?? 'GET').toUpperCase();
    const headers = req.headers as Record<string, string | undefined>;
    const url = parseTarget(req);
    if (!url) return errorResult(400, 'bad_request', 'the request target must be a path such as /articles');
    const event = toHttpApiEvent(req, body, url);
    if (isOperatorPath(url.pathname)) {
      const target = req.url ?? '/';
      const q = target.indexOf('?');
      const verdict = await verifySigV4(
        { method, rawPath: q < 0 ? target : target.slice(0, q), rawQuery: q < 0 ? '' : target.slice(q + 1), headers, body },
        key,
      );
      // What API Gateway's IAM authorization answers (there with its own body; here with the API's error shape).
      if (!verdict.ok) return errorResult(403, 'forbidden', `operator routes need a valid SigV4 signature: ${verdict.reason}`);
      (event.requestContext as unknown as { authorizer: unknown }).authorizer = {
        iam: {
          accessKey: verdict.accessKey,
          accountId: DEFAULTS.localAccountId,
          callerId: verdict.accessKey,
          principalOrgId: null,
          userArn: `arn:aws:iam::${DEFAULTS.localAccountId}:user/local-operator`,
          userId: verdict.accessKey,
          cognitoIdentity: null,
        },
      };
    }
    return opts.handler(event);
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      try {
        for (const route of opts.routes ?? []) {
          if (await route(req, res)) return;
        }
        const headers = req.headers as Record<string, string | undefined>;
        if (isPreflight((req.method ?? '').toUpperCase(), headers)) {
          send(res, { statusCode: 204, headers: preflightHeaders(headers.origin, allowed) }, true);
          return;
        }
        const result = await answer(req, Buffer.concat(chunks));
        const resultBytes = Buffer.byteLength(JSON.stringify(result));
        if (resultBytes > LAMBDA_RESPONSE_MAX_BYTES) {
          throw new Error(`the handler's response is ${resultBytes} bytes, over Lambda's ${LAMBDA_RESPONSE_MAX_BYTES} (Function.ResponseSizeTooLarge)`);
        }
        const r: APIGatewayProxyStructuredResultV2 =
          typeof result === 'string' ? { statusCode: 200, body: result, headers: { 'content-type': 'application/json' } } : result;
        // CORS headers are the gateway's: the handler's own (if any) are replaced.
        const kept = Object.fromEntries(Object.entries(r.headers ?? {}).filter(([k]) => !k.toLowerCase().startsWith('access-control-')));
        r.headers = { ...kept, ...corsResponseHeaders(req.headers.origin, allowed) };
        send(res, r, req.method === 'HEAD');
      } catch (err) {
        // What API Gateway answers when the integration fails.
        opts.onError?.(err);
        if (!res.headersSent) {
          send(res, { statusCode: 500, headers: { 'content-type': 'application/json' }, body: '{"message":"Internal Server Error"}' }, false);
        }
      }
    });
  });
  server.on('clientError', answerUnreadableRequest);
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    stop: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
