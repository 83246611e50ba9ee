/**
 * The CDK app (`cdk.json`: `npx tsx infra/app.ts`). Settings are CDK context, e.g.
 * `npx cdk deploy -c stage=prod -c architecture=arm64 -c alarmEmail=ops@example.com`;
 * see infra/settings.ts for every key.
 *
 * A mistake in the settings or a missing sharp build is the user's to fix, not a bug: it
 * ends in one line saying what to do (exit 1), not a stack trace.
 */
import { App } from 'aws-cdk-lib';
import { BundlingSetupError } from './bundling';
import { SettingsError } from './settings';
import { createPipeline } from './stack';

try {
  const app = new App();
  createPipeline(app);
  app.synth();
} catch (err) {
  if (!(err instanceof SettingsError || err instanceof BundlingSetupError)) throw err;
  // One line: the fix (an install command, say) stays copyable at its end.
  process.stderr.write(`cdk synth: ${err.message.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(1);
}
