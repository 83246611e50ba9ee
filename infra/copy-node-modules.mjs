// afterBundling hook for the ingest function (see infra/bundling.ts): copies prebuilt
// packages (sharp and its linux platform binaries) into the asset's node_modules.
// Plain Node instead of `cp` so the hook also runs where there is no POSIX shell.
// Usage: node copy-node-modules.mjs <assetDir> <sourceNodeModules> <package>...
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const [assetDir, sourceDir, ...packages] = process.argv.slice(2);
if (!assetDir || !sourceDir || packages.length === 0) {
  console.error('usage: copy-node-modules.mjs <assetDir> <sourceNodeModules> <package>...');
  process.exit(2);
}
for (const pkg of packages) {
  const from = join(sourceDir, pkg);
  if (!existsSync(join(from, 'package.json'))) {
    console.error(`copy-node-modules: ${from} is missing; install it before bundling (see infra/bundling.ts)`);
    process.exit(1);
  }
  // dereference: a symlinked package (pnpm, npm link) must land as real files in the zip.
  cpSync(from, join(assetDir, 'node_modules', pkg), { recursive: true, dereference: true });
}
