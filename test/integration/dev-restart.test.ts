/**
 * `npm run dev` as a user runs it: a separate process on its own ports and data directory.
 * An upload survives a restart, because s3rver and DynamoDB Local keep their data under
 * LOCAL_DATA_DIR.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/definitions';
import { articleId } from '../../functions/core/ingest';
import { freePort } from '../../local/stack';

const dataDir = mkdtempSync(join(tmpdir(), 'dev-restart-'));
let proc: ChildProcess | null = null;

/** The environment of a user's shell: without what the test stack put into this process. */
function userShellEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of [...Object.values(ENV), 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) delete env[name];
  return env;
}

async function startDev(ports: Record<string, number>): Promise<string> {
  proc = spawn(process.execPath, ['--import', 'tsx', 'local/dev.ts'], {
    env: { ...userShellEnv(), LOCAL_DATA_DIR: dataDir, S3_PORT: String(ports.s3), DYNAMODB_PORT: String(ports.ddb), API_PORT: String(ports.api), SQS_PORT: String(ports.sqs), RDS_DATA_PORT: String(ports.rds) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + 90_000;
  while (!out.includes('local stack is up')) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`npm run dev did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return out;
}

async function stopDev(): Promise<void> {
  const p = proc;
  proc = null;
  if (!p || p.exitCode !== null) return;
  await new Promise<void>((done) => {
    p.once('exit', () => done());
    p.kill('SIGINT');
  });
}

afterAll(async () => {
  await stopDev();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm run dev', () => {
  it('prints its endpoints, processes an upload, and keeps it across a restart', async () => {
    const ports = { s3: await freePort(), ddb: await freePort(), api: await freePort(), sqs: await freePort(), rds: await freePort() };
    const banner = await startDev(ports);
    expect(banner).toContain(`http://127.0.0.1:${ports.s3}`);
    expect(banner).toContain(`http://127.0.0.1:${ports.api}`);
    expect(banner).toContain(join(dataDir, 'dead-letters.jsonl'));

    const s3 = new S3Client({ endpoint: `http://127.0.0.1:${ports.s3}`, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    await s3.send(new PutObjectCommand({ Bucket: 'articles-incoming', Key: 'keep/me.md', Body: '---\ntitle: Kept\n---\nStill here.\n' }));
    const find = async () => {
      const res = await fetch(`http://127.0.0.1:${ports.api}/articles?limit=100`);
      const body = (await res.json()) as { items: { id: string; title: string }[] };
      return body.items.find((a) => a.id === articleId('keep/me.md'));
    };
    const deadline = Date.now() + 30_000;
    while (!(await find()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect((await find())?.title).toBe('Kept');
    s3.destroy();

    await stopDev();
    await startDev(ports);
    expect((await find())?.title).toBe('Kept');
  }, 240_000);
});

describe('npm run dev on a busy port', () => {
  it('says which variable to change instead of crashing', async () => {
    const { createServer } = await import('node:net');
    const busy = createServer();
    const port = await freePort();
    await new Promise<void>((ok) => busy.listen(port, '127.0.0.1', ok));
    try {
      const res = spawnSync(process.execPath, ['--import', 'tsx', 'local/dev.ts'], {
        env: { ...userShellEnv(), LOCAL_DATA_DIR: dataDir, API_PORT: String(port), S3_PORT: String(await freePort()), DYNAMODB_PORT: String(await freePort()), SQS_PORT: String(await freePort()), RDS_DATA_PORT: String(await freePort()) },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(res.status).toBe(1);
      expect(res.stderr).toContain(`port ${port} is already in use`);
      expect(res.stderr).toContain('API_PORT');
      expect(res.stderr).not.toMatch(/\n\s+at /);
    } finally {
      busy.close();
    }
  });
});
