/**
 * Lambda bundle sizes and the query API's cold import.
 *
 * The bundles are built as the CDK's NodejsFunction builds them, with this project's
 * options read from infra/bundling.ts (format, target, minify, external modules; sharp's
 * native package external): `esbuild --bundle --platform=node --target=<target>
 * --format=<format> --minify --sourcemap --sources-content=false --external:...`, and for
 * ESM `--main-fields=module,main`. Then the same with ESM output, for comparison.
 *
 * Cold import: a fresh `node` process, with the environment the handler needs, imports the
 * bundle, which loads its configuration and builds its SDK clients at module scope; the
 * time around the import() is the figure. The AWS SDK resolves from node_modules here, as
 * it does from the runtime in Lambda. Reported beside it: the same with the stack's
 * NODE_OPTIONS=--enable-source-maps (Node then parses the bundle's source map on load),
 * and the floor set by the SDK alone (importing the DynamoDB clients and building one).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { median, round } from './lib/stats';

const ROOT = new URL('..', import.meta.url).pathname;
const ENTRIES = { api: 'functions/api/handler.ts', ingest: 'functions/ingest/handler.ts' } as const;

interface CdkOptions {
  format: 'cjs' | 'esm';
  target: string;
  minify: boolean;
  external: string[];
}

/** The options NodejsFunction gets in infra/bundling.ts (the ingest function adds sharp). */
async function cdkOptions(): Promise<{ api: CdkOptions; ingest: CdkOptions }> {
  const { bundlingOptions } = await import('../infra/bundling');
  const fake = { modulesDir: '', packages: [], version: '' };
  const read = (o: ReturnType<typeof bundlingOptions>): CdkOptions => ({
    format: (o.format ?? 'cjs') as 'cjs' | 'esm',
    target: o.target ?? 'node22',
    minify: o.minify ?? false,
    external: o.externalModules ?? ['@aws-sdk/*'],
  });
  return { api: read(bundlingOptions()), ingest: read(bundlingOptions(fake)) };
}

async function bundle(entry: string, outfile: string, o: CdkOptions): Promise<{ bytes: number; metafile: Metafile }> {
  const res = await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: o.target,
    format: o.format,
    minify: o.minify,
    sourcemap: true,
    sourcesContent: false,
    metafile: true,
    external: o.external,
    ...(o.format === 'esm' ? { mainFields: ['module', 'main'] } : {}),
    logLevel: 'silent',
  });
  return { bytes: statSync(outfile).size, metafile: res.metafile };
}

/** Bytes in the output per npm package (or `(project)`), largest first. A nested copy
 *  shows as `parent/node_modules/name`, so duplicated versions stand out. */
function heaviest(metafile: Metafile, top = 10): Record<string, number> {
  const out = Object.values(metafile.outputs).find((o) => o.entryPoint)!;
  const by = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(out.inputs)) {
    const m = /node_modules\/((?:(?:@[^/]+\/)?[^/]+\/node_modules\/)*(?:@[^/]+\/)?[^/]+)/.exec(path);
    const name = m ? m[1]! : '(project)';
    by.set(name, (by.get(name) ?? 0) + bytesInOutput);
  }
  return Object.fromEntries([...by].sort((a, b) => b[1] - a[1]).slice(0, top));
}

/** What the API cannot go below with the SDK loaded from node_modules: its DynamoDB clients. */
const SDK_FLOOR_SCRIPT = `
const { createRequire } = await import('node:module');
const require = createRequire(import.meta.url);
const t0 = performance.now();
// require(), as the CommonJS bundle loads it (the SDK's ESM build is hundreds of files).
const { DynamoDBClient } = require('@aws-sdk/client-dynamodb');
const { DynamoDBDocumentClient } = require('@aws-sdk/lib-dynamodb');
DynamoDBDocumentClient.from(new DynamoDBClient({ maxAttempts: 5 }));
const importMs = performance.now() - t0;
process.stdout.write(JSON.stringify({ importMs, sinceProcessStartMs: performance.now() }));
`;

/** A CommonJS bundle is require()d, as Lambda's Node.js runtime loads one; ESM is import()ed. */
const COLD_SCRIPT = `
import { createRequire } from 'node:module';
const path = process.argv[2];
const t0 = performance.now();
const m = path.endsWith('.cjs') ? createRequire(import.meta.url)(path) : await import(path);
const importMs = performance.now() - t0;
const handler = m.handler ?? m.default?.handler;
if (typeof handler !== 'function') process.exit(3);
process.stdout.write(JSON.stringify({ importMs, sinceProcessStartMs: performance.now() }));
`;

/** The API function's environment as deployed (CloudFormation values replaced by stand-ins). */
const API_ENV = {
  TABLE_NAME: 'articles',
  MEDIA_BUCKET: 'articles-media',
  MEDIA_BASE_URL: 'https://media.example.test',
  DEFAULT_TIMEZONE: 'UTC',
  CORS_ALLOWED_ORIGINS: '*',
  CURSOR_SECRET: 'a-bench-cursor-secret-0123456789abcdef',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDBENCHDUMMY',
  AWS_SECRET_ACCESS_KEY: 'bench-dummy-secret',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

function coldImports(bundlePath: string, runs: number, nodeOptions: string, source = COLD_SCRIPT): { importMs: number[]; processMs: number[] } {
  const script = join(bundlePath, '..', source === COLD_SCRIPT ? 'cold-import.mjs' : 'sdk-floor.mjs');
  writeFileSync(script, source);
  const importMs: number[] = [];
  const processMs: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const r = spawnSync(process.execPath, [script, bundlePath], {
      env: { PATH: process.env.PATH ?? '', ...API_ENV, NODE_OPTIONS: nodeOptions },
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.status !== 0) throw new Error(`cold import of ${bundlePath} failed (${r.status}): ${r.stderr.split('\n').slice(0, 3).join(' ')}`);
    // The first run warms the OS file cache, as a provisioned Lambda image would be.
    if (i === 0) continue;
    const out = JSON.parse(r.stdout) as { importMs: number; sinceProcessStartMs: number };
    importMs.push(out.importMs);
    processMs.push(out.sinceProcessStartMs);
  }
  return { importMs, processMs };
}

export async function bundleBenchmarks(workDir: string, coldRuns: number) {
  const dir = join(workDir, 'bundles');
  mkdirSync(dir, { recursive: true });
  const cdk = await cdkOptions();
  const ext = (o: CdkOptions) => (o.format === 'esm' ? 'mjs' : 'cjs');

  const api = await bundle(ENTRIES.api, join(dir, `api.${ext(cdk.api)}`), cdk.api);
  const ingest = await bundle(ENTRIES.ingest, join(dir, `ingest.${ext(cdk.ingest)}`), cdk.ingest);
  const esmOpts = (o: CdkOptions): CdkOptions => ({ ...o, format: 'esm' });
  const apiEsm = await bundle(ENTRIES.api, join(dir, 'esm', 'api.mjs'), esmOpts(cdk.api));
  const ingestEsm = await bundle(ENTRIES.ingest, join(dir, 'esm', 'ingest.mjs'), esmOpts(cdk.ingest));

  const apiPath = join(dir, `api.${ext(cdk.api)}`);
  // Interleaved, so background load hits all three alike.
  const plain = { importMs: [] as number[], processMs: [] as number[] };
  const withMaps = { importMs: [] as number[], processMs: [] as number[] };
  const sdkOnly = { importMs: [] as number[], processMs: [] as number[] };
  const esm = { importMs: [] as number[], processMs: [] as number[] };
  for (let i = 0; i < coldRuns; i++) {
    for (const [into, path, opts, src] of [
      [plain, apiPath, '', COLD_SCRIPT],
      [withMaps, apiPath, '--enable-source-maps', COLD_SCRIPT],
      [sdkOnly, apiPath, '', SDK_FLOOR_SCRIPT],
      [esm, join(dir, 'esm', 'api.mjs'), '', COLD_SCRIPT],
    ] as const) {
      const r = coldImports(path, 1, opts, src);
      into.importMs.push(...r.importMs);
      into.processMs.push(...r.processMs);
    }
  }
  const inputs = (m: Metafile) => Object.keys(m.inputs);
  const has = (m: Metafile, pkg: string) => inputs(m).some((i) => i.includes(`node_modules/${pkg}/`));

  return {
    bundleBytes: { api: api.bytes, ingest: ingest.bytes },
    apiColdImportMs: round(median(plain.importMs), 1),
    extra: {
      bundleOptions: cdk,
      esmBundleBytes: { api: apiEsm.bytes, ingest: ingestEsm.bytes },
      apiHeaviestPackagesBytes: heaviest(api.metafile),
      ingestHeaviestPackagesBytes: heaviest(ingest.metafile),
      apiBundleContains: Object.fromEntries(['cheerio', 'sharp', 'markdown-it', 'sanitize-html', 'zod', '@aws-sdk/client-s3'].map((p) => [p, has(api.metafile, p)])),
      apiColdImport: {
        runs: coldRuns,
        importMs: plain.importMs.map((x) => round(x, 1)),
        /** With the stack's NODE_OPTIONS=--enable-source-maps. */
        withSourceMapsMedianMs: round(median(withMaps.importMs), 1),
        /** Importing @aws-sdk/client-dynamodb + lib-dynamodb and building the client, nothing else. */
        sdkDynamoDbOnlyMedianMs: round(median(sdkOnly.importMs), 1),
        /** The same bundle as ESM: the SDK then loads from its ESM build, hundreds of files. */
        esmBundleMedianMs: round(median(esm.importMs), 1),
        /** Node start-up plus import, as a cold start adds it before the first request. */
        processToReadyMedianMs: round(median(plain.processMs), 1),
      },
    },
  };
}
