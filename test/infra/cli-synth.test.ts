/**
 * `npx cdk synth` as a user runs it, offline: no AWS credentials, no profile files, no
 * instance metadata, no Docker. Telemetry, notices and the version check are switched off
 * so the CLI talks to nothing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../infra/bundling';

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
  it('synthesizes offline with every security rule satisfied', () => {
    const run = spawnSync('npx', ['cdk', 'synth', '--quiet', '--no-notices', '--no-version-reporting', '-o', outdir], {
      cwd: PROJECT_ROOT,
      env: offlineEnv(),
      encoding: 'utf8',
      timeout: 280_000,
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);

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
});
