/**
 * The CDK app (`cdk.json`: `npx tsx infra/app.ts`). Settings are CDK context, e.g.
 * `npx cdk deploy -c stage=prod -c architecture=arm64 -c alarmEmail=ops@example.com`;
 * see infra/settings.ts for every key.
 */
import { App } from 'aws-cdk-lib';
import { createPipeline } from './stack';

const app = new App();
createPipeline(app);
app.synth();
