/**
 * SqlDriver over the RDS Data API (Aurora PostgreSQL Serverless v2): HTTPS calls signed with
 * the function's role, so the Lambdas need no VPC, no driver and no connection pool. One
 * ExecuteStatement per query, typed parameters, rows as JSON (formatRecordsAs JSON).
 */
import { ExecuteStatementCommand, RDSDataClient, type SqlParameter } from '@aws-sdk/client-rds-data';
import type { SqlDriver, SqlValue } from '../ports';

export interface DataApiSettings {
  resourceArn: string;
  secretArn: string;
  database: string;
  /** Only for the local stack's Data API stand-in. */
  endpoint?: string;
  /**
   * How long to keep retrying while an auto-paused cluster resumes (DatabaseResumingException;
   * AWS documents about 15 s). The API waits less than ingest: a reader is waiting.
   */
  resumeWaitMs?: number;
}

export function toSqlParameters(params: Record<string, SqlValue> = {}): SqlParameter[] {
  return Object.entries(params).map(([name, v]): SqlParameter => {
    if (v === null) return { name, value: { isNull: true } };
    if (typeof v === 'boolean') return { name, value: { booleanValue: v } };
    if (typeof v === 'number') return { name, value: Number.isSafeInteger(v) ? { longValue: v } : { doubleValue: v } };
    return { name, value: { stringValue: v } };
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createDataApiDriver(settings: DataApiSettings, client?: RDSDataClient): SqlDriver {
  const rds =
    client ??
    new RDSDataClient({
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      maxAttempts: 3,
      requestHandler: { connectionTimeout: 3_000, socketTimeout: 45_000 },
    });
  const resumeWaitMs = settings.resumeWaitMs ?? 30_000;
  return {
    async query<T>(sql: string, params?: Record<string, SqlValue>) {
      const started = Date.now();
      for (let attempt = 0; ; attempt++) {
        try {
          const out = await rds.send(
            new ExecuteStatementCommand({
              resourceArn: settings.resourceArn,
              secretArn: settings.secretArn,
              database: settings.database,
              sql,
              parameters: toSqlParameters(params),
              formatRecordsAs: 'JSON',
            }),
          );
          const rows = out.formattedRecords ? (JSON.parse(out.formattedRecords) as T[]) : [];
          return { rows, rowCount: out.formattedRecords ? rows.length : (out.numberOfRecordsUpdated ?? 0) };
        } catch (err) {
          const name = (err as { name?: string })?.name;
          if (name !== 'DatabaseResumingException' || Date.now() - started > resumeWaitMs) throw err;
          await sleep(Math.min(500 * 2 ** attempt, 5_000));
        }
      }
    },
  };
}
