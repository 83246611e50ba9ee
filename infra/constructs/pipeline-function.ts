/**
 * A Node.js Lambda with this project's defaults: local esbuild bundling, its own log
 * group with retention, X-Ray tracing, and a role that starts with nothing but writing
 * to that log group (no AWSLambdaBasicExecutionRole managed policy). Callers add
 * exactly the permissions the function needs.
 */
import { join } from 'node:path';
import { type Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { PROJECT_ROOT, SHARP_EXTERNALS, assertLocalEsbuild, bundlingOptions, cpuOf, locateSharp } from '../bundling';

/** Every function runs on this runtime (see the L1 acknowledgement in infra/stack.ts). */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_22_X;

export interface PipelineFunctionProps {
  /** Entry file relative to the repository root; it exports `handler`. */
  entry: string;
  description: string;
  architecture: lambda.Architecture;
  memorySize: number;
  timeout: Duration;
  environment: Record<string, string>;
  logRetentionDays: number;
  /** Ship sharp (prebuilt, linux-<cpu>) beside the bundle. */
  withSharp?: boolean;
  /** Where sharp's platform packages are; see infra/bundling.ts. */
  sharpModulesDir?: string;
  /**
   * Source-mapped stack traces (default on). Off for the query API: Node parses the map
   * at every cold start, +22 ms measured by `npm run bench` (apiColdImportMs).
   */
  sourceMaps?: boolean;
}

export class PipelineFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);

    // Skipped stacks (`cdk deploy OtherStack`, tests that skip bundling) need no toolchain.
    const bundles = Stack.of(this).bundlingRequired;
    if (bundles) assertLocalEsbuild();
    const sharp =
      props.withSharp && bundles
        ? locateSharp({ cpu: cpuOf(props.architecture), modulesDir: props.sharpModulesDir })
        : undefined;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (execution role)`,
    });
    this.logGroup.grantWrite(this.role);

    const sourceMaps = props.sourceMaps ?? true;
    const bundling = { ...bundlingOptions(sharp), sourceMap: sourceMaps };
    this.function = new NodejsFunction(this, 'Function', {
      entry: join(PROJECT_ROOT, props.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: FUNCTION_RUNTIME,
      architecture: props.architecture,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      environment: sourceMaps ? { ...props.environment, NODE_OPTIONS: '--enable-source-maps' } : props.environment,
      // Without bundling (skipped stacks) sharp must still stay external.
      bundling: props.withSharp && !sharp ? { ...bundling, externalModules: SHARP_EXTERNALS } : bundling,
    });
  }
}
