/**
 * SqlDriver over the RDS Data API (Aurora PostgreSQL Serverless v2): HTTPS calls signed with
 * the function's role, so the Lambdas need no VPC, no driver and no connection pool. One
 * ExecuteStatement per query, typed parameters, rows as JSON (formatRecordsAs JSON).
 *
 * The request is the SDK's ExecuteStatement (REST-JSON `POST /Execute`), sent through
 * aws-http.ts rather than `@aws-sdk/client-rds-data`: in the query API's bundle that client
 * alone costs cold-start time on every route (aws-http.ts says how much). The body is
 * checked against the SDK's own for the same input (test/unit/aws-http.test.ts).
 */
import type { SqlDriver, SqlValue } from '../ports';
import { sleep } from '../core/backoff';
import { createAwsSend, type AwsHttpOptions } from './aws-http';

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

/** The Data API's typed value of one parameter (the SDK's `SqlParameter`, the kinds used here). */
export type SqlParameter = {
  name: string;
  value: { isNull: true } | { booleanValue: boolean } | { longValue: number } | { doubleValue: number } | { stringValue: string };
};

export function toSqlParameters(params: Record<string, SqlValue> = {}): SqlParameter[] {
  return Object.entries(params).map(([name, v]): SqlParameter => {
    if (v === null) return { name, value: { isNull: true } };
    if (typeof v === 'boolean') return { name, value: { booleanValue: v } };
    if (typeof v === 'number') return { name, value: Number.isSafeInteger(v) ? { longValue: v } : { doubleValue: v } };
    return { name, value: { stringValue: v } };
  });
}

export function createDataApiDriver(settings: DataApiSettings, aws: Omit<AwsHttpOptions, 'service'>): SqlDriver {
  // As the SDK client was: 3 attempts; a statement may run up to 45 s (the Data API's own limit).
  const send = createAwsSend({ maxAttempts: 3, attemptTimeoutMs: 46_000, ...aws, service: 'rds-data' });
  const url = `${settings.endpoint ?? `https://rds-data.${aws.region}.amazonaws.com`}/Execute`;
  const resumeWaitMs = settings.resumeWaitMs ?? 30_000;
  return {
    async query<T>(sql: string, params?: Record<string, SqlValue>) {
      const started = Date.now();
      const body = JSON.stringify({
        database: settings.database,
        formatRecordsAs: 'JSON',
        parameters: toSqlParameters(params),
        resourceArn: settings.resourceArn,
        secretArn: settings.secretArn,
        sql,
      });
      for (let attempt = 0; ; attempt++) {
        try {
          const res = await send(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          const out = JSON.parse(res.text) as { formattedRecords?: string; numberOfRecordsUpdated?: number };
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
