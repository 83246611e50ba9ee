/**
 * Lambda bundling with the local esbuild (never Docker), and sharp shipped prebuilt.
 *
 * sharp is a native module, so esbuild cannot bundle it: the ingest function marks it
 * external and an afterBundling hook copies `sharp`, its JS dependencies and the two
 * platform packages (`@img/sharp-linux-<cpu>`, `@img/sharp-libvips-linux-<cpu>`) into the
 * asset's node_modules. `bundling.nodeModules` is avoided on purpose: it runs `npm install`
 * at synth time, which needs the network.
 *
 * Where the platform packages come from:
 * - `npm ci` on linux-x64 (CI, this repository's machines) installs the x64 ones, so the
 *   default x86_64 architecture needs no extra step.
 * - npm's `cpu`/`os`/`libc` settings take ONE value, and they also swap esbuild's own binary,
 *   so a plain `npm ci` cannot install both x64 and arm64. For arm64 (or when deploying from
 *   macOS/Windows), install the Lambda platform's copy next to the project, leaving
 *   node_modules alone: see `installHint()`; it lands in `.lambda-sharp/linux-<cpu>/`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import { OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';

/** The repository root (where package.json and package-lock.json are). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const COPY_SCRIPT = join(PROJECT_ROOT, 'infra', 'copy-node-modules.mjs');

export type LinuxCpu = 'x64' | 'arm64';

export function cpuOf(architecture: Architecture): LinuxCpu {
  return architecture.name === Architecture.ARM_64.name ? 'arm64' : 'x64';
}

export class BundlingSetupError extends Error {
  override readonly name = 'BundlingSetupError';
  readonly code = 'bundling_setup';
}

export interface SharpPackages {
  /** The node_modules folder the packages are copied from. */
  modulesDir: string;
  /** Package names relative to modulesDir, e.g. `sharp`, `@img/sharp-linux-x64`. */
  packages: string[];
  version: string;
}

interface PackageJson {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

function readPackage(modulesDir: string, name: string): PackageJson | undefined {
  const file = join(modulesDir, name, 'package.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as PackageJson) : undefined;
}

function platformPackages(cpu: LinuxCpu): [string, string] {
  return [`@img/sharp-linux-${cpu}`, `@img/sharp-libvips-linux-${cpu}`];
}

/** Where `installHint` puts a platform's sharp; searched after the project's node_modules. */
export function sideInstallDir(projectRoot: string, cpu: LinuxCpu): string {
  return join(projectRoot, '.lambda-sharp', `linux-${cpu}`);
}

function rootSharpVersion(projectRoot: string): string | undefined {
  return readPackage(join(projectRoot, 'node_modules'), 'sharp')?.version;
}

/** The one command that makes sharp for linux-<cpu> available without touching node_modules. */
export function installHint(projectRoot: string, cpu: LinuxCpu): string {
  const version = rootSharpVersion(projectRoot) ?? '<the version in package.json>';
  const dir = sideInstallDir(projectRoot, cpu);
  return `npm install --prefix "${dir}" --os=linux --cpu=${cpu} --libc=glibc --no-audit --no-fund sharp@${version}`;
}

/**
 * Finds sharp plus the linux-<cpu> binaries and lists every package the Lambda needs
 * at run time (sharp's dependencies included). Throws BundlingSetupError, with the
 * command that fixes it, when something is missing or the versions disagree.
 */
export function locateSharp(opts: { projectRoot?: string; cpu: LinuxCpu; modulesDir?: string }): SharpPackages {
  const projectRoot = opts.projectRoot ?? PROJECT_ROOT;
  const [platform, libvips] = platformPackages(opts.cpu);
  const candidates = opts.modulesDir
    ? [isAbsolute(opts.modulesDir) ? opts.modulesDir : resolve(projectRoot, opts.modulesDir)]
    : [join(projectRoot, 'node_modules'), join(sideInstallDir(projectRoot, opts.cpu), 'node_modules')];

  const modulesDir = candidates.find((dir) => [`sharp`, platform, libvips].every((p) => readPackage(dir, p)));
  if (!modulesDir) {
    throw new BundlingSetupError(
      `sharp for Lambda (linux-${opts.cpu}) is missing: need sharp, ${platform} and ${libvips} in one of ` +
        `${candidates.join(', ')}. Install them with:\n  ${installHint(projectRoot, opts.cpu)}`,
    );
  }

  const sharp = readPackage(modulesDir, 'sharp')!;
  const platformPkg = readPackage(modulesDir, platform)!;
  const libvipsPkg = readPackage(modulesDir, libvips)!;
  const wantedPlatform = sharp.optionalDependencies?.[platform];
  const wantedLibvips = platformPkg.optionalDependencies?.[libvips];
  if (wantedPlatform !== platformPkg.version || (wantedLibvips && wantedLibvips !== libvipsPkg.version)) {
    throw new BundlingSetupError(
      `sharp ${sharp.version} in ${modulesDir} wants ${platform}@${wantedPlatform} and ${libvips}@${wantedLibvips}, ` +
        `found ${platformPkg.version} and ${libvipsPkg.version}. Reinstall with:\n  ${installHint(projectRoot, opts.cpu)}`,
    );
  }
  const tested = rootSharpVersion(projectRoot);
  if (tested && tested !== sharp.version) {
    throw new BundlingSetupError(
      `sharp ${sharp.version} in ${modulesDir} differs from the tested sharp ${tested} in node_modules. ` +
        `Reinstall with:\n  ${installHint(projectRoot, opts.cpu)}`,
    );
  }

  // Runtime dependencies, breadth-first. A flat (npm) layout puts them beside sharp; a
  // copy nested under a package's own node_modules travels with that package.
  const packages: string[] = [];
  const queue = ['sharp', platform, libvips];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (packages.includes(name)) continue;
    packages.push(name);
    for (const dep of Object.keys(readPackage(modulesDir, name)?.dependencies ?? {})) {
      if (existsSync(join(modulesDir, name, 'node_modules', dep, 'package.json'))) continue;
      if (!readPackage(modulesDir, dep)) {
        throw new BundlingSetupError(`${name} needs ${dep}, which is not in ${modulesDir}. Run \`npm ci\` first.`);
      }
      queue.push(dep);
    }
  }
  return { modulesDir, packages, version: sharp.version };
}

/** Fails synth with a clear message instead of CDK's silent fallback to Docker. */
export function assertLocalEsbuild(projectRoot: string = PROJECT_ROOT): void {
  try {
    createRequire(join(projectRoot, 'package.json')).resolve('esbuild');
  } catch {
    throw new BundlingSetupError('esbuild is not installed in node_modules; run `npm ci` (bundling never uses Docker)');
  }
}

/** sharp is native: never bundled, shipped beside the bundle (see the top of this file). */
export const SHARP_EXTERNALS = ['sharp', '@img/*'];

function quoted(path: string): string {
  if (path.includes('"')) throw new BundlingSetupError(`path contains a double quote: ${path}`);
  return `"${path}"`;
}

/**
 * esbuild options shared by both functions: CommonJS (Lambda's default loader, so CJS
 * dependencies keep `require`/`__dirname`), minified, source maps without sources.
 * The metafile (`index.meta.json`) records which inputs went in; tests read it.
 *
 * The AWS SDK v3 is bundled, from its ES modules (`mainFields: module`, so esbuild drops
 * what the code does not use), not taken from the runtime: one file loads faster than the
 * SDK's hundreds, and the SDK that runs is the one the tests ran. `npm run bench` measures
 * every option side by side (docs/performance.md, "Cold start (Node.js 22)").
 */
export function bundlingOptions(sharp?: SharpPackages): BundlingOptions {
  const base: BundlingOptions = {
    format: OutputFormat.CJS,
    target: 'node22',
    minify: true,
    sourceMap: true,
    sourcesContent: false,
    metafile: true,
    forceDockerBundling: false,
    mainFields: ['module', 'main'],
    externalModules: [],
  };
  if (!sharp) return base;
  return {
    ...base,
    externalModules: SHARP_EXTERNALS,
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (_inputDir, outputDir) => [
        ['node', quoted(COPY_SCRIPT), quoted(outputDir), quoted(sharp.modulesDir), ...sharp.packages].join(' '),
      ],
    },
  };
}
