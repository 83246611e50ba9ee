/**
 * Full-text search: Aurora PostgreSQL Serverless v2 with the Data API, so the functions
 * reach it over HTTPS with IAM (no VPC, no connection pool). The cluster sits in an
 * isolated VPC of its own (no NAT, no internet route); its admin secret is in Secrets
 * Manager. Minimum capacity 0 with auto-pause by default: idle, only storage is billed.
 * The schema is migrated at deploy time by a custom resource (functions/search-migrate).
 */
import { CustomResource, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as cr from 'aws-cdk-lib/custom-resources';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { SCHEMA_VERSION } from '../../functions/core/search/migrations';
import { DEFAULTS, ENV } from '../../functions/definitions';
import type { SearchSettings } from '../settings';
import { PipelineFunction } from './pipeline-function';

export interface SearchProps {
  settings: SearchSettings;
  architecture: lambda.Architecture;
  logRetentionDays: number;
}

export class Search extends Construct {
  readonly vpc: ec2.Vpc;
  readonly cluster: rds.DatabaseCluster;
  readonly migrations: PipelineFunction;
  readonly provider: cr.Provider;

  constructor(scope: Construct, id: string, props: SearchProps) {
    super(scope, id);
    const s = props.settings;

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      natGateways: 0,
      maxAzs: 2,
      subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, 'FlowLogs', { retention: props.logRetentionDays as logs.RetentionDays, removalPolicy: RemovalPolicy.DESTROY }),
      ),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });

    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_17_7 }),
      writer: rds.ClusterInstance.serverlessV2('Writer', { autoMinorVersionUpgrade: true }),
      serverlessV2MinCapacity: s.minCapacity,
      serverlessV2MaxCapacity: s.maxCapacity,
      ...(s.minCapacity === 0 ? { serverlessV2AutoPauseDuration: Duration.minutes(s.autoPauseMinutes) } : {}),
      enableDataApi: true,
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      defaultDatabaseName: DEFAULTS.searchDatabase,
      credentials: rds.Credentials.fromGeneratedSecret('search_admin'),
      storageEncrypted: true,
      iamAuthentication: true,
      // Not 5432: nothing connects by port anyway (the Data API does), and AwsSolutions-RDS11 asks for it.
      port: 15432,
      cloudwatchLogsExports: ['postgresql'],
      backup: { retention: Duration.days(7) },
      deletionProtection: s.deletionProtection,
      // The index is derived data (npm run reindex rebuilds it from the table): a snapshot on removal is enough.
      removalPolicy: s.deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.SNAPSHOT,
    });

    this.migrations = new PipelineFunction(this, 'Migrations', {
      entry: 'functions/search-migrate/handler.ts',
      description: 'article-pipeline search schema migrations (deploy time)',
      architecture: props.architecture,
      memorySize: 256,
      timeout: Duration.minutes(10),
      logRetentionDays: props.logRetentionDays,
      environment: {},
    });
    this.connect(this.migrations);

    this.provider = new cr.Provider(this, 'MigrationProvider', {
      onEventHandler: this.migrations.function,
      logGroup: new logs.LogGroup(this, 'ProviderLogs', { retention: props.logRetentionDays as logs.RetentionDays, removalPolicy: RemovalPolicy.DESTROY }),
    });
    const schema = new CustomResource(this, 'Schema', {
      serviceToken: this.provider.serviceToken,
      resourceType: 'Custom::SearchSchema',
      // A new migration changes this, so CloudFormation runs the step again on deploy.
      properties: { SchemaVersion: SCHEMA_VERSION },
    });
    schema.node.addDependency(this.cluster);

    this.acknowledgeFindings(s);
  }

  /** Environment and the least privilege to query the cluster: ExecuteStatement on it, and reading its secret. */
  connect(fn: PipelineFunction): void {
    fn.function.addEnvironment(ENV.SEARCH_CLUSTER_ARN, this.cluster.clusterArn);
    fn.function.addEnvironment(ENV.SEARCH_SECRET_ARN, this.cluster.secret!.secretArn);
    fn.function.addEnvironment(ENV.SEARCH_DATABASE, DEFAULTS.searchDatabase);
    fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['rds-data:ExecuteStatement'], resources: [this.cluster.clusterArn] }));
    this.cluster.secret!.grantRead(fn.role);
  }

  private acknowledgeFindings(s: SearchSettings): void {
    NagSuppressions.addResourceSuppressions(this.cluster, [
      {
        id: 'AwsSolutions-SMG4',
        reason:
          'Only the Data API uses this secret, and IAM decides who may call it. Rotation would need a rotation function inside the isolated VPC plus a Secrets Manager interface endpoint (about $15 a month) for no gain in who can reach the database.',
      },
      ...(s.deletionProtection
        ? []
        : [
            {
              id: 'AwsSolutions-RDS10',
              reason:
                'Deletion protection is the context setting searchDeletionProtection (off for throw-away stages). The search index is derived data: npm run reindex rebuilds it from the article table, and removal keeps a snapshot.',
            },
          ]),
    ], true);
    NagSuppressions.addResourceSuppressions(this.provider, [
      {
        id: 'AwsSolutions-IAM4',
        reason: "CDK's custom resource provider framework function uses the AWS-managed basic execution role for its logs.",
        appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: "The provider framework may invoke the migration function's versions (CDK generates <arn>:*).",
        appliesTo: [{ regex: '/^Resource::<.+\\.Arn>:\\*$/g' }],
      },
      { id: 'AwsSolutions-L1', reason: "The provider framework function's runtime is chosen by CDK, updated with aws-cdk-lib." },
      { id: 'Serverless-LambdaLatestVersion', reason: "The provider framework function's runtime is chosen by CDK, updated with aws-cdk-lib." },
      { id: 'Serverless-LambdaDLQ', reason: 'Invoked synchronously by CloudFormation through the framework; failures are reported to CloudFormation.' },
      { id: 'Serverless-LambdaTracing', reason: 'CDK-generated framework function; the migration function it calls is traced.' },
      { id: 'Serverless-LambdaDefaultMemorySize', reason: 'CDK-generated framework function with its own default size.' },
    ], true);
  }
}
