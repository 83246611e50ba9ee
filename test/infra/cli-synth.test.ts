/**
 * `npx cdk synth` as a user runs it, offline: no AWS credentials, no profile files, no
 * instance metadata, no Docker. Telemetry, notices and the version check are switched off
 * so the CLI talks to nothing.
 */
import { execFile, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../infra/bundling';

/** Runs a command without blocking the worker (a blocked worker misses vitest's RPC deadlines). */
async function run(cmd: string, args: string[], timeout = 280_000): Promise<{ status: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(cmd, args, { cwd: PROJECT_ROOT, env: offlineEnv(), encoding: 'utf8', timeout, maxBuffer: 64 << 20 });
    return { status: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { status: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: `${e.stderr ?? ''}${String(err)}` };
  }
}

const outdir = mkdtempSync(join(tmpdir(), 'cdk-synth-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('AWS_') && !k.startsWith('CDK_')) env[k] = v;
  }
  return {
    ...env,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(outdir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(outdir, 'no-aws-credentials'),
    CDK_DISABLE_VERSION_CHECK: '1',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    // Bundling must not reach for Docker; make any attempt fail.
    CDK_DOCKER: join(outdir, 'no-docker'),
  };
}

describe('npx cdk synth', () => {
  it('synthesizes offline with every security rule satisfied', async () => {
    const synth = await run('npx', ['cdk', 'synth', '--quiet', '--no-notices', '--no-version-reporting', '-o', outdir]);
    expect(synth.status, `${synth.stdout}\n${synth.stderr}`).toBe(0);

    const template = JSON.parse(readFileSync(join(outdir, 'ArticlePipeline-dev.template.json'), 'utf8'));
    expect(Object.values(template.Resources).filter((r: any) => r.Type === 'AWS::Lambda::Function').length).toBeGreaterThanOrEqual(2);

    // cdk-nag writes one report per rule pack; every rule is either met or acknowledged.
    const reports = readdirSync(outdir).filter((f) => f.endsWith('NagReport.csv'));
    expect(reports.map((r) => r.split('-')[0]).sort()).toEqual(['AwsSolutions', 'Serverless']);
    for (const report of reports) {
      const rows = readFileSync(join(outdir, report), 'utf8').trim().split('\n').slice(1);
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) expect(row.split(',')[2], row).toMatch(/^"(Compliant|Suppressed)"$/);
    }
    expect(existsSync(join(outdir, 'manifest.json'))).toBe(true);
  }, 300_000);

  it('runs the CDK app (cdk.json: `npx tsx infra/app.ts`) on the pinned Node.js, as the suite is', async () => {
    expect((await run('npx', ['tsx', '-e', 'process.stdout.write(process.version)'], 60_000)).stdout).toBe(process.version);
    expect(JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')).app).toBe('npx tsx infra/app.ts');
  });
  /** Stderr of a run that must fail: its own line, never a Node stack trace. */
  const oneLine = (run: SpawnSyncReturns<string>) => {
    expect(run.status, run.stderr).not.toBe(0);
    const ours = run.stderr.split('\n').filter((l) => l.startsWith('cdk synth: '));
    expect(ours, run.stderr).toHaveLength(1);
    expect(run.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    return ours[0]!;
  };

  it('fails on a misspelt context key, naming the valid ones', () => {
    const run = spawnSync(
      'npx',
      ['cdk', 'synth', '--quiet', '--no-notices', '--no-version-reporting', '-o', mkdtempSync(join(outdir, 'bad-')), '-c', 'imageFormat=avif'],
      { cwd: PROJECT_ROOT, env: offlineEnv(), encoding: 'utf8', timeout: 240_000 },
    );
    const line = oneLine(run);
    expect(line).toContain('unknown context key "imageFormat" (did you mean "imageFormats"?)');
    expect(line).toContain('the valid keys are: stage, architecture,');
  }, 250_000);

  it('ends a bad value and a missing arm64 sharp in one clear line', () => {
    // The app as the CLI runs it (cdk.json's command), context in CDK_CONTEXT_JSON as the CLI passes it.
    const app = (context: Record<string, string>) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'infra/app.ts'], {
        cwd: PROJECT_ROOT,
        env: { ...offlineEnv(), CDK_OUTDIR: mkdtempSync(join(outdir, 'app-')), CDK_CONTEXT_JSON: JSON.stringify(context) },
        encoding: 'utf8',
        timeout: 120_000,
      });
    expect(oneLine(app({ architecture: 'arm' }))).toContain('architecture must be x86_64 or arm64, got "arm"');
    const empty = mkdtempSync(join(outdir, 'no-sharp-'));
    expect(oneLine(app({ architecture: 'arm64', sharpModulesDir: empty }))).toMatch(
      /sharp for Lambda \(linux-arm64\) is missing: .* npm install --prefix .*--cpu=arm64/,
    );
  }, 250_000);
});
