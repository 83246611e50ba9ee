/**
 * `npm run demo`: uploads the sample articles of examples/ into a running `npm run dev`,
 * serves their images from a loopback origin, waits until they are processed and prints
 * what became of them. Same env names as the local stack (S3_PORT, API_PORT,
 * INCOMING_BUCKET, DEMO_ORIGIN_PORT); exits non-zero if an example did not come out right.
 */
import { DEFAULTS, ENV } from '../functions/definitions';
import { DemoError, failureHints, formatReport, runDemo } from './demo-lib';

function port(name: string, fallback: number): number {
  const v = process.env[name]?.trim();
  if (!v) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) {
    console.error(`${name} must be a port number, got "${v}"`);
    process.exit(2);
  }
  return Number(v);
}

const s3Port = port(ENV.S3_PORT, DEFAULTS.s3Port);
const apiPort = port(ENV.API_PORT, DEFAULTS.apiPort);
const originPort = port(ENV.DEMO_ORIGIN_PORT, DEFAULTS.demoOriginPort);
const incomingBucket = process.env[ENV.INCOMING_BUCKET]?.trim() || DEFAULTS.incomingBucket;
const timeoutMs = Number(process.env.DEMO_TIMEOUT_MS) > 0 ? Number(process.env.DEMO_TIMEOUT_MS) : 60_000;

console.log(`article-pipeline demo: uploading examples/ into the local stack (API http://127.0.0.1:${apiPort}, S3 http://127.0.0.1:${s3Port})\n`);
try {
  const started = Date.now();
  const result = await runDemo({
    s3Endpoint: `http://127.0.0.1:${s3Port}`,
    apiUrl: `http://127.0.0.1:${apiPort}`,
    incomingBucket,
    originPort,
    timeoutMs,
    log: (line) => console.log(`  ${line}`),
  });
  console.log(`\n${formatReport(result)}\n`);
  const hints = failureHints(result);
  if (!result.ok) {
    for (const h of hints) console.error(`! ${h}`);
    console.error(`\nThe demo did not complete cleanly (${((Date.now() - started) / 1000).toFixed(1)} s).`);
    process.exit(1);
  }
  console.log(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s. The images now live in the media bucket: the demo origin has stopped, and they still show.`);
} catch (err) {
  if (err instanceof DemoError) {
    console.error(`demo: ${err.message}`);
    process.exit(2);
  }
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
