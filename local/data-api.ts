/**
 * A local stand-in for the RDS Data API, backed by PGlite: the handlers use the very
 * driver they use in AWS (functions/adapters/data-api-driver.ts), only the endpoint
 * differs. It speaks what that driver sends: `POST /Execute` (REST-JSON), named typed
 * parameters, `formatRecordsAs: JSON`; SQL errors come back as DatabaseErrorException like
 * the real service. No signature is checked (loopback only). Transactions and batches
 * are not implemented: the search code uses neither.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SqlParameter } from '../functions/adapters/data-api-driver';
import type { PgliteDriver } from '../functions/adapters/pglite-driver';
import { DEFAULTS } from '../functions/definitions';
import type { SqlValue } from '../functions/ports';

export const LOCAL_SEARCH = {
  resourceArn: `arn:aws:rds:${DEFAULTS.localRegion}:${DEFAULTS.localAccountId}:cluster:local-search`,
  secretArn: `arn:aws:secretsmanager:${DEFAULTS.localRegion}:${DEFAULTS.localAccountId}:secret:local-search`,
  database: 'postgres',
} as const;

export interface LocalDataApi {
  endpoint: string;
  stop(): Promise<void>;
}

function valueOf(p: SqlParameter): SqlValue {
  const v = p.value ?? { isNull: true };
  if ('isNull' in v && v.isNull) return null;
  if ('stringValue' in v && v.stringValue !== undefined) return v.stringValue;
  if ('longValue' in v && v.longValue !== undefined) return Number(v.longValue);
  if ('doubleValue' in v && v.doubleValue !== undefined) return v.doubleValue;
  if ('booleanValue' in v && v.booleanValue !== undefined) return v.booleanValue;
  throw new Error(`parameter ${p.name}: only string, long, double, boolean and null values are supported locally`);
}

export async function startLocalDataApi(opts: { port: number; driver: PgliteDriver }): Promise<LocalDataApi> {
  // PGlite runs one statement at a time; requests queue here rather than interleave.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => {});
    return next;
  };

  const send = (res: ServerResponse, status: number, body: unknown, errorType?: string) => {
    res.writeHead(status, { 'content-type': 'application/json', ...(errorType ? { 'x-amzn-errortype': errorType } : {}) });
    res.end(JSON.stringify(body));
  };

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== 'POST' || req.url?.split('?')[0] !== '/Execute') {
      return send(res, 404, { message: `not supported locally: ${req.method} ${req.url}` }, 'NotFoundException');
    }
    let input: { sql?: string; parameters?: SqlParameter[]; resourceArn?: string; secretArn?: string };
    try {
      input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return send(res, 400, { message: 'body is not JSON' }, 'BadRequestException');
    }
    if (input.resourceArn !== LOCAL_SEARCH.resourceArn || input.secretArn !== LOCAL_SEARCH.secretArn) {
      return send(res, 403, { message: 'unknown cluster or secret ARN' }, 'ForbiddenException');
    }
    if (!input.sql) return send(res, 400, { message: 'sql is required' }, 'BadRequestException');
    let params: Record<string, SqlValue>;
    try {
      params = Object.fromEntries((input.parameters ?? []).map((p) => [p.name!, valueOf(p)]));
    } catch (err) {
      return send(res, 400, { message: (err as Error).message }, 'BadRequestException');
    }
    try {
      const out = await serial(() => opts.driver.query(input.sql!, params));
      const isSelect = /^\s*(select|with)\b/i.test(input.sql);
      send(res, 200, isSelect ? { formattedRecords: JSON.stringify(out.rows), numberOfRecordsUpdated: 0 } : { numberOfRecordsUpdated: out.rowCount });
    } catch (err) {
      send(res, 400, { message: `ERROR: ${(err as Error).message}` }, 'DatabaseErrorException');
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => send(res, 500, { message: String(err) }, 'InternalServerErrorException'));
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
