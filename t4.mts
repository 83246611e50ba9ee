import { PGlite } from '@electric-sql/pglite';
import { writeFileSync, readFileSync } from 'node:fs';
let t = performance.now(); const db = await PGlite.create(); console.log('mem', performance.now() - t);
t = performance.now(); const dump = await db.dumpDataDir('none'); console.log('dump', performance.now() - t, dump.size);
writeFileSync('/tmp/pgl.tar', Buffer.from(await dump.arrayBuffer()));
t = performance.now(); const d2 = await PGlite.create({ loadDataDir: new Blob([readFileSync('/tmp/pgl.tar')]) }); console.log('load mem', performance.now() - t);
t = performance.now(); const d3 = await PGlite.create({ dataDir: '/tmp/pgl-x', loadDataDir: new Blob([readFileSync('/tmp/pgl.tar')]) }); console.log('load disk', performance.now() - t);
console.log((await d3.query('select 1 as x')).rows);
