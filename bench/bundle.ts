/**
 * Lambda bundle sizes and cold starts, with the ways of shipping the AWS SDK side by side.
 *
 * The deployed bundles are built as the CDK's NodejsFunction builds them, with this
 * project's options read from infra/bundling.ts (format, target, minify, main fields,
 * banner, external modules; sharp's native package always external): `esbuild --bundle
 * --platform=node --target=<target> --format=<format> --minify --sourcemap
 * --sources-content=false ...`. Beside them, in the same run, each alternative:
 *
 * - the SDK from the runtime (`@aws-sdk/*` external; here it resolves from node_modules,
 *   as it does from /var/runtime/node_modules in Lambda), as CommonJS and as ESM;
 * - the SDK bundled from its CommonJS build (`main`), as CommonJS;
 * - the SDK bundled from its ES modules (`module`, so esbuild tree-shakes it), as CommonJS
 *   and as ESM;
 * - and the floors: a process that only loads `@aws-sdk/client-dynamodb` (with and without
 *   `lib-dynamodb`), runtime or bundled, timed separately for the import and for building
 *   the client, which is what lazy client construction would move out of the cold start.
 *
 * Cold start: a fresh `node` (the one running the bench) loads the bundle with the
 * function's environment, which reads its configuration and builds its SDK clients at
 * module scope (the ingest bundle also loads sharp); the time around require()/import()
 * is the figure, as wall time and as the process's CPU time over the same span (CPU time
 * is robust to other load on the machine; wall time is what a quiet machine shows).
 * Every variant runs interleaved with the others, so background load hits them alike.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { median, round } from './lib/stats';

const ROOT = new URL('..', import.meta.url).pathname;
const ENTRIES = { api: 'functions/api/handler.ts', ingest: 'functions/ingest/handler.ts' } as const;

interface BuildOptions {
  format: 'cjs' | 'esm';
  target: string;
  minify: boolean;
  external: string[];
  mainFields?: string[];
  banner?: string;
}

/** The options NodejsFunction gets in infra/bundling.ts (the ingest function adds sharp). */
async function cdkOptions(): Promise<{ api: BuildOptions; ingest: BuildOptions }> {
  const { bundlingOptions } = await import('../infra/bundling');
  const fake = { modulesDir: '', packages: [], version: '' };
  const read = (o: ReturnType<typeof bundlingOptions>): BuildOptions => ({
    format: (o.format ?? 'cjs') as 'cjs' | 'esm',
    target: o.target ?? 'node22',
    minify: o.minify ?? false,
    external: o.externalModules ?? ['@aws-sdk/*'],
    mainFields: o.mainFields,
    banner: o.banner,
  });
  return { api: read(bundlingOptions()), ingest: read(bundlingOptions(fake)) };
}

/** What ESM output needs when a bundled CommonJS dependency calls require() on a builtin. */
const ESM_REQUIRE_BANNER = "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);";

async function bundle(entry: string, outfile: string, o: BuildOptions): Promise<{ bytes: number; metafile: Metafile }> {
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
    ...(o.mainFields ? { mainFields: o.mainFields } : {}),
    ...(o.banner ? { banner: { js: o.banner } } : {}),
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

/**
 * Loads argv[2] (CommonJS is require()d, as Lambda's Node.js runtime loads it; ESM is
 * import()ed), then, if the module exports `make` (the floor entries), builds the client.
 */
const COLD_SCRIPT = `
import { createRequire } from 'node:module';
const path = process.argv[2];
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const m = path.endsWith('.cjs') ? createRequire(import.meta.url)(path) : await import(path);
const importMs = performance.now() - t0;
const cpu1 = process.cpuUsage(cpu0);
const make = m.make ?? m.default?.make;
let constructMs = 0;
if (typeof make === 'function') {
  const t1 = performance.now();
  make();
  constructMs = performance.now() - t1;
} else if (typeof (m.handler ?? m.default?.handler) !== 'function') process.exit(3);
const importCpuMs = (cpu1.user + cpu1.system) / 1000;
process.stdout.write(JSON.stringify({ importMs, importCpuMs, constructMs, sinceProcessStartMs: performance.now() }));
`;

/**
 * The floors: a DynamoDB reader and nothing else. `make` builds the client, which is what
 * lazy client construction would move out of the cold start. The SDK's, with and without
 * lib-dynamodb, against what the API ships: signed fetch (aws4fetch) and util-dynamodb.
 */
const FLOOR_ENTRIES = {
  'signed fetch (deployed API)': `
import { createHttpDocumentReads } from '${ROOT}functions/adapters/dynamo-http';
export const make = () => createHttpDocumentReads({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
`,
  'client+lib': `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
export const commands = [GetCommand, QueryCommand];
export const make = () => DynamoDBDocumentClient.from(new DynamoDBClient({ maxAttempts: 5 }), { marshallOptions: { removeUndefinedValues: true } });
`,
  'client only': `
import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
export const commands = [GetItemCommand, QueryCommand];
export const make = () => new DynamoDBClient({ maxAttempts: 5 });
`,
} as const;

/**
 * NODE_OPTIONS as the stack sets them (infra/constructs/pipeline-function.ts): source-mapped
 * stack traces for ingest, none for the query API, whose cold start they would lengthen.
 */
const NODE_OPTIONS = { api: '', ingest: '--enable-source-maps' } as const;

/** The functions' environment as deployed (CloudFormation values replaced by stand-ins). */
const FUNCTION_ENV = {
  TABLE_NAME: 'articles',
  INCOMING_BUCKET: 'articles-incoming',
  MEDIA_BUCKET: 'articles-media',
  MEDIA_BASE_URL: 'https://media.example.test',
  DEFAULT_TIMEZONE: 'UTC',
  CORS_ALLOWED_ORIGINS: '*',
  CURSOR_SECRET: 'a-bench-cursor-secret-0123456789abcdef',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDBENCHDUMMY',
  AWS_SECRET_ACCESS_KEY: 'bench-dummy-secret',
  AWS_EC2_METADATA_DISABLED: 'true',
  POWERTOOLS_METRICS_NAMESPACE: 'bench',
};

interface Sample {
  importMs: number;
  importCpuMs: number;
  constructMs: number;
  sinceProcessStartMs: number;
}

function coldImport(script: string, bundlePath: string, nodeOptions = ''): Sample {
  const r = spawnSync(process.execPath, [script, bundlePath], {
    env: { PATH: process.env.PATH ?? '', ...FUNCTION_ENV, NODE_OPTIONS: nodeOptions },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`cold import of ${bundlePath} failed (${r.status}): ${r.stderr.split('\n').slice(0, 3).join(' ')}`);
  return JSON.parse(r.stdout) as Sample;
}

export interface ColdStartRow {
  function: string;
  variant: string;
  bytes: number;
  importMs: number;
  importCpuMs: number;
  constructMs?: number;
  processToReadyMs: number;
}

interface Variant {
  fn: 'api' | 'ingest' | 'floor';
  name: string;
  path: string;
  bytes: number;
  nodeOptions?: string;
  deployed?: boolean;
  samples: Sample[];
}

/** The variants compared for each function, by how the SDK is shipped. */
function alternatives(deployed: BuildOptions): { name: string; o: BuildOptions }[] {
  const sdkExternal = deployed.external.includes('@aws-sdk/*') ? deployed.external : ['@aws-sdk/*', ...deployed.external];
  const sdkBundled = deployed.external.filter((e) => !e.startsWith('@aws-sdk'));
  const esm = { format: 'esm' as const, banner: ESM_REQUIRE_BANNER, mainFields: ['module', 'main'] };
  return [
    { name: 'SDK from the runtime, CJS', o: { ...deployed, external: sdkExternal, mainFields: undefined, banner: undefined, format: 'cjs' } },
    { name: 'SDK from the runtime, ESM', o: { ...deployed, external: sdkExternal, ...esm } },
    { name: 'SDK bundled (its CJS build), CJS', o: { ...deployed, external: sdkBundled, mainFields: ['main', 'module'], banner: undefined, format: 'cjs' } },
    { name: 'SDK bundled, tree-shaken (its ES modules), CJS', o: { ...deployed, external: sdkBundled, mainFields: ['module', 'main'], banner: undefined, format: 'cjs' } },
    { name: 'SDK bundled, tree-shaken (its ES modules), ESM', o: { ...deployed, external: sdkBundled, ...esm } },
  ];
}

const same = (a: BuildOptions, b: BuildOptions) =>
  a.format === b.format &&
  [...a.external].sort().join() === [...b.external].sort().join() &&
  (a.mainFields ?? ['main', 'module']).join() === (b.mainFields ?? ['main', 'module']).join();

export async function bundleBenchmarks(workDir: string, coldRuns: number) {
  const dir = join(workDir, 'bundles');
  mkdirSync(dir, { recursive: true });
  const script = join(dir, 'cold-import.mjs');
  writeFileSync(script, COLD_SCRIPT);
  const cdk = await cdkOptions();
  const ext = (o: BuildOptions) => (o.format === 'esm' ? 'mjs' : 'cjs');

  const variants: Variant[] = [];
  const metafiles: Partial<Record<'api' | 'ingest', Metafile>> = {};
  for (const fn of ['api', 'ingest'] as const) {
    const deployed = cdk[fn];
    const path = join(dir, `${fn}.${ext(deployed)}`);
    const built = await bundle(ENTRIES[fn], path, deployed);
    metafiles[fn] = built.metafile;
    const nodeOptions = NODE_OPTIONS[fn];
    variants.push({ fn, name: 'deployed (infra/bundling.ts)', path, bytes: built.bytes, nodeOptions, deployed: true, samples: [] });
    const flipped = nodeOptions ? '' : '--enable-source-maps';
    variants.push({ fn, name: `deployed, ${flipped ? 'with' : 'without'} --enable-source-maps`, path, bytes: built.bytes, nodeOptions: flipped, samples: [] });
    for (const [i, alt] of alternatives(deployed).entries()) {
      // The API has no SDK client to ship one way or another (adapters/aws-http.ts): only its output format varies.
      if (fn === 'api' && !alt.name.includes('tree-shaken')) continue;
      if (fn === 'api') alt.name = alt.name.replace('SDK bundled, tree-shaken (its ES modules)', 'no AWS SDK (signed fetch), bundled');
      if (same(alt.o, deployed)) {
        variants.find((v) => v.fn === fn && v.deployed)!.name = `deployed: ${alt.name}`;
        continue;
      }
      const p = join(dir, 'alt', `${fn}-${i}.${ext(alt.o)}`);
      variants.push({ fn, name: alt.name, path: p, bytes: (await bundle(ENTRIES[fn], p, alt.o)).bytes, nodeOptions, samples: [] });
    }
  }
  for (const [name, source] of Object.entries(FLOOR_ENTRIES)) {
    const slug = name.replace(/\W+/g, '-');
    const entry = join(dir, 'floor', `${slug}.ts`);
    mkdirSync(join(dir, 'floor'), { recursive: true });
    writeFileSync(entry, source);
    // From the runtime: the SDK's own files, require()d.
    if (!name.startsWith('signed fetch')) {
      const runtime = join(dir, 'floor', `${slug}-runtime.cjs`);
      const r = await bundle(entry, runtime, { format: 'cjs', target: 'node22', minify: true, external: ['@aws-sdk/*'] });
      variants.push({ fn: 'floor', name: `${name}, from the runtime`, path: runtime, bytes: r.bytes, samples: [] });
    }
    const bundled = join(dir, 'floor', `${slug}-bundled.cjs`);
    const b = await bundle(entry, bundled, { format: 'cjs', target: 'node22', minify: true, external: [], mainFields: ['module', 'main'] });
    variants.push({ fn: 'floor', name: `${name}, bundled tree-shaken CJS`, path: bundled, bytes: b.bytes, samples: [] });
  }

  // A warm-up load of each (the OS file cache, as a provisioned Lambda image would be), then interleaved runs.
  for (const v of variants) coldImport(script, v.path, v.nodeOptions);
  for (let i = 0; i < coldRuns; i++) for (const v of variants) v.samples.push(coldImport(script, v.path, v.nodeOptions));

  const summary = (v: Variant): ColdStartRow => ({
    function: v.fn,
    variant: v.name,
    bytes: v.bytes,
    importMs: round(median(v.samples.map((s) => s.importMs)), 1),
    importCpuMs: round(median(v.samples.map((s) => s.importCpuMs)), 1),
    ...(v.fn === 'floor' ? { constructMs: round(median(v.samples.map((s) => s.constructMs)), 1) } : {}),
    processToReadyMs: round(median(v.samples.map((s) => s.sinceProcessStartMs)), 1),
  });
  const table = variants.map(summary);
  const deployedRow = (fn: 'api' | 'ingest') => table[variants.findIndex((v) => v.fn === fn && v.deployed)]!;
  const inputs = (m: Metafile) => Object.keys(m.inputs);
  const has = (m: Metafile, pkg: string) => inputs(m).some((i) => i.includes(`node_modules/${pkg}/`));

  return {
    bundleBytes: { api: deployedRow('api').bytes },
    apiColdImportMs: deployedRow('api').importMs,
    ingestColdInitMs: deployedRow('ingest').importMs,
    extra: {
      bundleOptions: cdk,
      bundleBytesIngest: deployedRow('ingest').bytes,
      runs: coldRuns,
      /** Median wall and CPU ms per variant; `deployed` rows are what the stack ships. */
      coldStart: table,
      apiColdImportCpuMs: deployedRow('api').importCpuMs,
      ingestColdInitCpuMs: deployedRow('ingest').importCpuMs,
      apiHeaviestPackagesBytes: heaviest(metafiles.api!),
      ingestHeaviestPackagesBytes: heaviest(metafiles.ingest!),
      apiBundleContains: Object.fromEntries(
        ['cheerio', 'sharp', 'markdown-it', 'sanitize-html', 'zod', 'aws4fetch', '@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-s3', '@aws-sdk/client-rds-data', '@smithy/core'].map((p) => [
          p,
          has(metafiles.api!, p),
        ]),
      ),
    },
  };
}

/** The cold-start table as Markdown, for docs/performance.md. */
export function coldStartMarkdown(r: ColdStartRow[]): string {
  const out = ['| function | variant | bundle bytes | import ms (wall) | import ms (CPU) | + build client ms |', '| --- | --- | ---: | ---: | ---: | ---: |'];
  for (const x of r) out.push(`| ${x.function} | ${x.variant} | ${x.bytes.toLocaleString('en-US')} | ${x.importMs} | ${x.importCpuMs} | ${x.constructMs ?? ''} |`);
  return out.join('\n');
}
