/**
 * What the Lambda zips contain: the ingest bundle ships prebuilt sharp for linux-<cpu>
 * beside it, the API bundle carries none of the ingest-only libraries, and each bundle
 * starts on Node with exactly the environment the stack gives it.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/definitions';
import { BundlingSetupError, PROJECT_ROOT, installHint, locateSharp } from '../../infra/bundling';
import { readSettings } from '../../infra/settings';
import { ArticlePipelineStack } from '../../infra/stack';
import { cdkJsonContext } from './helpers';

const INGEST_ONLY = ['sharp', '@img', 'cheerio', 'markdown-it', 'sanitize-html'];
const rootSharp = JSON.parse(readFileSync(join(PROJECT_ROOT, 'node_modules/sharp/package.json'), 'utf8')) as {
  version: string;
  optionalDependencies: Record<string, string>;
};

const temps: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The full stack, bundled, without the (slower) cdk-nag aspects: those are stack.test.ts's job. */
function synthBundled(context: Record<string, unknown> = {}) {
  const outdir = tempDir('infra-bundle-');
  const app = new App({ outdir, context: { ...cdkJsonContext(), ...context } });
  const stack = new ArticlePipelineStack(app, 'Bundled', { settings: readSettings(app.node) });
  const template = Template.fromStack(stack);
  const fn = (construct: { node: { defaultChild?: unknown } }) => {
    const id = stack.resolve(stack.getLogicalId(construct.node.defaultChild as never)) as string;
    return template.toJSON().Resources[id].Properties as { Code: { S3Key: string }; Environment: { Variables: Record<string, unknown> }; Architectures?: string[] };
  };
  const assetDir = (props: { Code: { S3Key: string } }) => join(outdir, `asset.${props.Code.S3Key.replace(/\.zip$/, '')}`);
  return { stack, template, fn, assetDir };
}

interface Metafile {
  inputs: Record<string, unknown>;
}
const inputsOf = (assetDir: string) => Object.keys((JSON.parse(readFileSync(join(assetDir, 'index.meta.json'), 'utf8')) as Metafile).inputs);
const fromPackage = (inputs: string[], pkg: string) => inputs.filter((i) => i.includes(`node_modules/${pkg}/`));

/** The function's env as deployed, with CloudFormation references replaced by stand-ins. */
function deployedEnv(variables: Record<string, unknown>): Record<string, string> {
  // What Lambda itself sets in every function (reserved variables), besides the stack's own.
  const env: Record<string, string> = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'ASIATESTLAMBDAROLE',
    AWS_SECRET_ACCESS_KEY: 'lambda-role-secret',
    AWS_SESSION_TOKEN: 'lambda-role-session-token',
  };
  for (const [name, value] of Object.entries(variables)) {
    if (typeof value === 'string') env[name] = value;
    else if (name === ENV.MEDIA_BASE_URL) env[name] = 'https://media.example.test';
    else if (name === ENV.CURSOR_SECRET) env[name] = 'a-test-cursor-secret-of-some-length-0123456789';
    else if (name.endsWith('_ARN')) env[name] = `arn:aws:service:us-east-1:123456789012:stand-in:${name.toLowerCase()}`;
    else env[name] = `resolved-${name.toLowerCase()}`;
  }
  return env;
}

/**
 * Loads the bundle in a fresh Node and checks `handler`. No node_modules is in reach (the
 * asset folders sit in a temp dir): the AWS SDK is bundled, not taken from the runtime.
 */
function loadBundle(assetDir: string, env: Record<string, string>) {
  return spawnSync(process.execPath, ['-e', "const m = require('./index.js'); if (typeof m.handler !== 'function') process.exit(3);"], {
    cwd: assetDir,
    env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64';

describe('the default (x86_64) bundles', () => {
  let synth: ReturnType<typeof synthBundled>;
  let ingestDir: string;
  let apiDir: string;
  beforeAll(() => {
    synth = synthBundled();
    ingestDir = synth.assetDir(synth.fn(synth.stack.ingest.handler.function));
    apiDir = synth.assetDir(synth.fn(synth.stack.queryApi.handler.function));
  }, 180_000);

  it('ship sharp, its dependencies and the linux-x64 binaries next to the ingest bundle', () => {
    const modules = join(ingestDir, 'node_modules');
    for (const pkg of ['sharp', '@img/sharp-linux-x64', '@img/sharp-libvips-linux-x64']) {
      expect(existsSync(join(modules, pkg, 'package.json')), pkg).toBe(true);
    }
    for (const dep of Object.keys(JSON.parse(readFileSync(join(modules, 'sharp/package.json'), 'utf8')).dependencies)) {
      expect(existsSync(join(modules, dep, 'package.json')), dep).toBe(true);
    }
    expect(existsSync(join(modules, '@img/sharp-linux-x64/lib/sharp-linux-x64.node'))).toBe(true);
    expect(existsSync(join(modules, '@img/sharp-linux-arm64'))).toBe(false);
  });

  it('keep sharp out of the esbuild bundle itself (it is loaded from node_modules)', () => {
    const inputs = inputsOf(ingestDir);
    expect(inputs.some((i) => i.startsWith('functions/ingest/'))).toBe(true);
    expect(fromPackage(inputs, 'sharp')).toEqual([]);
    expect(fromPackage(inputs, '@img')).toEqual([]);
    // PGlite (WebAssembly PostgreSQL) is for the local stack and tests; Lambdas use the Data API.
    expect(fromPackage(inputs, '@electric-sql/pglite')).toEqual([]);
  });

  it('give the API bundle none of sharp, cheerio, markdown-it, sanitize-html, and no node_modules', () => {
    const inputs = inputsOf(apiDir);
    expect(inputs.some((i) => i.startsWith('functions/api/'))).toBe(true);
    for (const pkg of [...INGEST_ONLY, '@electric-sql/pglite']) expect(fromPackage(inputs, pkg), pkg).toEqual([]);
    expect(inputs.filter((i) => i.startsWith('functions/ingest/'))).toEqual([]);
    expect(existsSync(join(apiDir, 'node_modules'))).toBe(false);
  });

  it('bundle the AWS SDK into ingest from its ES modules (tree-shaken), not its CommonJS build', () => {
    const inputs = inputsOf(ingestDir);
    expect(fromPackage(inputs, '@aws-sdk/client-dynamodb').some((i) => i.includes('/dist-es/'))).toBe(true);
    expect(fromPackage(inputs, '@aws-sdk/client-dynamodb').some((i) => i.includes('/dist-cjs/'))).toBe(false);
  });

  it('give the API no AWS SDK client at all: it signs its own reads (adapters/aws-http.ts; docs/performance.md)', () => {
    const inputs = inputsOf(apiDir);
    const sdk = inputs.filter((i) => /node_modules\/(@aws-sdk\/(client-|lib-|core|credential-)|@smithy\/)/.test(i));
    expect(sdk).toEqual([]);
    expect(fromPackage(inputs, 'aws4fetch').length).toBeGreaterThan(0);
    expect(fromPackage(inputs, '@aws-sdk/util-dynamodb').length).toBeGreaterThan(0);
  });

  it.runIf(onLinuxX64)('the copied sharp loads and encodes from the asset folder alone', () => {
    const script =
      "require('sharp')({ create: { width: 8, height: 8, channels: 3, background: '#336699' } })" +
      ".webp().toBuffer().then((b) => { if (b.length < 10) process.exit(4); }).catch(() => process.exit(5));";
    const out = spawnSync(process.execPath, ['-e', script], { cwd: ingestDir, encoding: 'utf8', timeout: 60_000 });
    expect(out.status, out.stderr).toBe(0);
  });

  it.runIf(onLinuxX64)('both handlers start with exactly the environment the stack sets', () => {
    for (const [dir, construct] of [
      [ingestDir, synth.stack.ingest.handler.function],
      [apiDir, synth.stack.queryApi.handler.function],
    ] as const) {
      const out = loadBundle(dir, deployedEnv(synth.fn(construct).Environment.Variables));
      expect(out.status, `${dir}: ${out.stderr}`).toBe(0);
    }
  });

  it('a handler that lacks its environment does fail to start (the check above can fail)', () => {
    const out = loadBundle(apiDir, {});
    expect(out.status).not.toBe(0);
  });
});

/** A fake node_modules with sharp for linux-<cpu>: package.json files only. */
function fakeSharpModules(cpu: 'x64' | 'arm64', opts: { platformVersion?: string; sharpVersion?: string } = {}): string {
  const modules = join(tempDir('fake-sharp-'), 'node_modules');
  const write = (pkg: string, json: object) => {
    mkdirSync(join(modules, pkg), { recursive: true });
    writeFileSync(join(modules, pkg, 'package.json'), JSON.stringify({ name: pkg, ...json }));
  };
  const platform = `@img/sharp-linux-${cpu}`;
  const libvips = `@img/sharp-libvips-linux-${cpu}`;
  write('sharp', {
    version: opts.sharpVersion ?? rootSharp.version,
    dependencies: { 'detect-libc': '^2', semver: '^7' },
    optionalDependencies: { [platform]: rootSharp.optionalDependencies[platform] },
  });
  write(platform, { version: opts.platformVersion ?? rootSharp.optionalDependencies[platform], optionalDependencies: { [libvips]: '1.2.4' } });
  write(libvips, { version: '1.2.4' });
  write('detect-libc', { version: '2.1.2' });
  write('semver', { version: '7.7.3' });
  // Nested under sharp: travels with sharp, so it must not be listed on its own.
  write('sharp/node_modules/semver', { version: '7.7.3' });
  return modules;
}

describe('arm64', () => {
  it('copies the linux-arm64 packages from sharpModulesDir and sets the architecture', () => {
    const modules = fakeSharpModules('arm64');
    const synth = synthBundled({ architecture: 'arm64', sharpModulesDir: modules });
    const ingest = synth.fn(synth.stack.ingest.handler.function);
    expect(ingest.Architectures).toEqual(['arm64']);
    expect(synth.fn(synth.stack.queryApi.handler.function).Architectures).toEqual(['arm64']);
    const copied = join(synth.assetDir(ingest), 'node_modules');
    for (const pkg of ['sharp', '@img/sharp-linux-arm64', '@img/sharp-libvips-linux-arm64', 'detect-libc']) {
      expect(existsSync(join(copied, pkg, 'package.json')), pkg).toBe(true);
    }
    expect(existsSync(join(copied, '@img/sharp-linux-x64'))).toBe(false);
  }, 180_000);

  it('fails synth loudly, with the command that fixes it, when the platform packages are missing', () => {
    const empty = join(tempDir('no-sharp-'), 'node_modules');
    mkdirSync(empty);
    const app = new App({ outdir: tempDir('infra-missing-'), context: { ...cdkJsonContext(), architecture: 'arm64', sharpModulesDir: empty } });
    let error: unknown;
    try {
      new ArticlePipelineStack(app, 'Missing', { settings: readSettings(app.node) });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(BundlingSetupError);
    expect((error as Error).message).toMatch(/@img\/sharp-linux-arm64.*\n.*npm install --prefix .*--cpu=arm64/s);
  });

  it('does not look for sharp at all when the stack is not being bundled', () => {
    const empty = join(tempDir('no-sharp-'), 'node_modules');
    const app = new App({
      outdir: tempDir('infra-unbundled-'),
      context: { ...cdkJsonContext(), architecture: 'arm64', sharpModulesDir: empty, 'aws:cdk:bundling-stacks': [] },
    });
    expect(() => new ArticlePipelineStack(app, 'Unbundled', { settings: readSettings(app.node) })).not.toThrow();
  });
});

describe('locateSharp', () => {
  it('lists sharp, the platform packages and their dependencies, skipping nested copies', () => {
    const modules = fakeSharpModules('x64');
    const found = locateSharp({ cpu: 'x64', modulesDir: modules });
    expect(found.modulesDir).toBe(modules);
    expect(new Set(found.packages)).toEqual(new Set(['sharp', '@img/sharp-linux-x64', '@img/sharp-libvips-linux-x64', 'detect-libc']));
  });

  it('rejects platform packages of another version than sharp expects', () => {
    const modules = fakeSharpModules('x64', { platformVersion: '0.0.1' });
    expect(() => locateSharp({ cpu: 'x64', modulesDir: modules })).toThrow(/wants @img\/sharp-linux-x64@/);
  });

  it('rejects a sharp other than the tested one in node_modules', () => {
    const modules = fakeSharpModules('arm64', { sharpVersion: '0.0.1' });
    expect(() => locateSharp({ cpu: 'arm64', modulesDir: modules })).toThrow(/differs from the tested sharp/);
  });

  it('finds the side install under .lambda-sharp/linux-<cpu> when node_modules lacks the platform', () => {
    const project = tempDir('fake-project-');
    const side = fakeSharpModules('arm64');
    mkdirSync(join(project, '.lambda-sharp/linux-arm64'), { recursive: true });
    cpSync(side, join(project, '.lambda-sharp/linux-arm64/node_modules'), { recursive: true });
    const found = locateSharp({ projectRoot: project, cpu: 'arm64' });
    expect(found.modulesDir).toBe(join(project, '.lambda-sharp/linux-arm64/node_modules'));
    expect(installHint(project, 'arm64')).toContain(`--prefix "${join(project, '.lambda-sharp/linux-arm64')}"`);
  });
});
