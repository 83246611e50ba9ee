import { build } from 'esbuild';
const res = await build({ absWorkingDir: '/work/main', entryPoints: ['functions/api/handler.ts'], outfile: '/tmp/prof/api2.cjs', bundle: true, platform: 'node', target: 'node22', format: 'cjs', minify: true, metafile: true, mainFields: ['module','main'], logLevel: 'silent' });
const out = Object.values(res.metafile.outputs).find(o => o.entryPoint);
const by = new Map();
for (const [p, { bytesInOutput }] of Object.entries(out.inputs)) { const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(p); const n = m ? m[1] : p.split('/').slice(0,2).join('/'); by.set(n, (by.get(n) ?? 0) + bytesInOutput); }
console.log(out.bytes, [...by].sort((a,b)=>b[1]-a[1]).slice(0,14).map(([k,v])=>`${v}\t${k}`).join('\n'));
