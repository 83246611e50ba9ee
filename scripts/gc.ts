/**
 * `npm run gc [-- --grace-seconds N]`
 *
 * Runs the media sweeper (functions/gc/handler.ts) once against the running local stack
 * (`npm run dev`, found through S3_PORT and DYNAMODB_PORT): removes re-hosted images no
 * article uses and bodies no article points to, once unused for MEDIA_GC_GRACE_SECONDS
 * (default 7 days; `--grace-seconds 0` removes them now). Prints what it did.
 * The local stack also sweeps once a day by itself; in AWS a daily schedule invokes the
 * MediaGc function (`aws lambda invoke --function-name <MediaGcFunctionName output> out.json`).
 */
import { DEFAULTS, ENV } from '../functions/definitions';
import { START_STACK, ToolError, isConnectionRefused, isMain, localEndpoints, parseCli, runCli } from './lib';

const USAGE = 'usage: npm run gc [-- --grace-seconds N]';

export async function main(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, { 'grace-seconds': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, USAGE);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const grace = values['grace-seconds'];
  if (grace !== undefined && !/^\d+$/.test(grace)) throw new ToolError('bad_arguments', `--grace-seconds must be a whole number, got "${grace}"\n\n${USAGE}`);
  const local = localEndpoints();
  // The handler reads its configuration once, at import: point it at the local stack first.
  Object.assign(process.env, {
    [ENV.S3_ENDPOINT]: local.s3Endpoint,
    [ENV.DYNAMODB_ENDPOINT]: local.dynamodbEndpoint,
    AWS_REGION: DEFAULTS.localRegion,
    AWS_ACCESS_KEY_ID: DEFAULTS.localAccessKeyId,
    AWS_SECRET_ACCESS_KEY: DEFAULTS.localSecretAccessKey,
    POWERTOOLS_DEV: 'true',
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
  });
  const { sweep } = await import('../functions/gc/handler');
  try {
    const r = await sweep(grace === undefined ? {} : { graceSeconds: Number(grace) });
    console.log(
      `media sweep: ${r.images.collected} image(s) removed (${r.imageFilesDeleted} files), ${r.bodies.collected} body(ies) removed; ` +
        `${r.images.waiting} image(s) and ${r.bodies.waiting} body(ies) unused but within the grace period; ` +
        `${r.images.inUse} image(s) and ${r.bodies.inUse} body(ies) in use; ${r.itemsRead} items read in ${r.ms} ms`,
    );
  } catch (err) {
    if (isConnectionRefused(err)) throw new ToolError('stack_unreachable', `cannot reach the local stack at ${local.s3Endpoint} / ${local.dynamodbEndpoint}. ${START_STACK}`);
    throw err;
  }
  return 0;
}

if (isMain(import.meta.url)) await runCli('gc', () => main(process.argv.slice(2)));
