import { fileURLToPath } from 'node:url';
import { AssetHashType, DockerImage, type Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { bundleLambdaSync, lambdaNodeOptions } from './lambda-bundle';

export interface NodeFunctionProps {
  /** Directory under `lambdas/` holding `handler.ts` (exporting `handler`). */
  readonly lambda: 'ingest' | 'consumer' | 'eraser';
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment: Record<string, string>;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Active X-Ray tracing (stack prop `tracing`): Lambda records each invocation's segment. The
   * handlers carry no tracer library, so calls to AWS services are not traced as subsegments.
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * Customer-managed KMS key for the log group (stack prop `customerManagedKey`); its policy must
   * let CloudWatch Logs use it (encryption-key.ts).
   * @default - CloudWatch Logs' own encryption
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * A Node 24 arm64 Lambda function bundled as split ESM (lambda-bundle.ts), with its own log group
 * and a role that may only write to that log group (no AWSLambdaBasicExecutionRole, whose logs:* wildcards cover
 * every log group in the account). Callers add the permissions the handler needs.
 */
export class NodeFunction extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: NodeFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      // Logs are the audit trail of what was received; they outlive the stack like the data.
      removalPolicy: RemovalPolicy.RETAIN,
      encryptionKey: props.encryptionKey,
    });
    if (!props.encryptionKey) acknowledgeLogGroupEncryption(this.logGroup);

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${props.lambda} function`,
    });
    Validations.of(this.role).acknowledge({
      id: 'HIPAA.Security-IAMNoInlinePolicy',
      reason:
        "the role's one policy is written by CDK grants, each naming this stack's resources, and is attached to this role " +
        'alone; a managed policy could be attached to other principals and would outlive the role',
    });
    // The function never creates its log group (it exists already), so CreateLogGroup is not granted.
    this.logGroup.grantWrite(this.role);

    this.function = new lambda.Function(this, 'Function', {
      // The source directory only names the asset (its files are not fingerprinted: the hash is
      // the bundle's); one per function, since CDK caches a bundling by source path and options,
      // and the local bundler below is not part of those options.
      code: lambda.Code.fromAsset(fileURLToPath(new URL(`../../lambdas/${props.lambda}`, import.meta.url)), {
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          // Never pulled: bundling is local (esbuild), and a failure fails the synth.
          image: DockerImage.fromRegistry('unused-local-bundling-only'),
          local: {
            tryBundle(outputDir) {
              bundleLambdaSync(props.lambda, outputDir);
              return true;
            },
          },
        },
      }),
      handler: 'index.handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      environment: { ...(lambdaNodeOptions && { NODE_OPTIONS: lambdaNodeOptions }), ...props.environment },
      tracing: props.tracing ? lambda.Tracing.ACTIVE : undefined,
    });
    if (props.tracing) {
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords, which X-Ray grants on no narrower resource',
      });
    }
    acknowledgeFunctionFindings(this.function, props.lambda);
  }
}

/** cdk-nag HIPAA findings on a log group without a customer-managed key. */
export function acknowledgeLogGroupEncryption(logGroup: logs.LogGroup): void {
  Validations.of(logGroup).acknowledge({
    id: 'HIPAA.Security-CloudWatchLogGroupEncrypted',
    reason:
      'CloudWatch Logs encrypts every log group at rest with its own keys; the stack prop customerManagedKey ' +
      'puts the log groups under a customer-managed KMS key',
  });
}

const noAsyncDeadLetters = "Lambda's asynchronous-invocation dead-letter queue would never receive anything";

/** How each function is invoked, hence why the HIPAA pack's LambdaDLQ finding does not apply. */
const invocation = {
  ingest: `invoked synchronously by API Gateway: a failure is answered 5xx and Terra retries the delivery, so ${noAsyncDeadLetters}`,
  consumer:
    'invoked by SQS event-source mappings whose queues hand a message to their own dead-letter queue after ' +
    `queueSettings.maxReceiveCount receives; ${noAsyncDeadLetters}`,
  eraser:
    'invoked by an SQS event-source mapping whose queue hands a request to its own dead-letter queue after ' +
    `queueSettings.maxReceiveCount receives; ${noAsyncDeadLetters}`,
} as const;

/** What bounds each function's concurrency, hence why the HIPAA pack's LambdaConcurrency finding does not apply. */
const concurrency = {
  ingest:
    "bounded by the webhook API's throttling (stack prop throttle: at the default 1,000 requests/s and tens of milliseconds " +
    'per request, tens of instances); a reserved concurrency would set aside account capacity no other function could use, ' +
    'to bound what the API already bounds',
  consumer:
    'bounded by the maximumConcurrency of each event-source mapping (stack prop consumerMaxConcurrency, per queue); a reserved ' +
    'concurrency would throttle the SQS pollers, and a throttled message counts a receive towards the dead-letter queue, ' +
    'while maximumConcurrency leaves it waiting in the queue',
  eraser:
    'bounded by the maximumConcurrency of its event-source mapping (eraserMaxConcurrency); a reserved concurrency would ' +
    'throttle the SQS pollers, and a throttled request counts a receive towards the dead-letter queue',
} as const;

function acknowledgeFunctionFindings(fn: lambda.Function, lambda: NodeFunctionProps['lambda']): void {
  Validations.of(fn).acknowledge({ id: 'HIPAA.Security-LambdaDLQ', reason: invocation[lambda] });
  Validations.of(fn).acknowledge({ id: 'HIPAA.Security-LambdaConcurrency', reason: concurrency[lambda] });
  Validations.of(fn).acknowledge({
    id: 'HIPAA.Security-LambdaInsideVPC',
    reason:
      'the function reaches only public AWS endpoints (SQS, S3, DynamoDB, Secrets Manager), over TLS and signed with its role' +
      (lambda === 'consumer' ? ", and Terra's download URLs (Ping mode) on the internet" : '') +
      '; no resource in a VPC is reached, and a VPC would add NAT gateways (cost, one more failure point) and slower cold starts',
  });
}
