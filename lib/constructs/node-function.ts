import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface NodeFunctionProps {
  /** Directory under `lambdas/` holding `handler.ts` (exporting `handler`). */
  readonly lambda: 'ingest' | 'consumer' | 'eraser';
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment: Record<string, string>;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * A Node 24 arm64 Lambda function bundled as ESM, with its own log group and a role that may
 * only write to that log group (no AWSLambdaBasicExecutionRole, whose logs:* wildcards cover
 * every log group in the account). Callers add the permissions the handler needs.
 */
export class NodeFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: NodeFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      // Logs are the audit trail of what was received; they outlive the stack like the data.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${props.lambda} function`,
    });
    // The function never creates its log group (it exists already), so CreateLogGroup is not granted.
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: fileURLToPath(new URL(`../../lambdas/${props.lambda}/handler.ts`, import.meta.url)),
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      bundling: {
        // ESM because @middy/core ships ESM only; the banner gives CommonJS dependencies that
        // call require() for Node built-ins a working require.
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        banner: [
          "import { createRequire as __terraCreateRequire } from 'module';",
          'const require = __terraCreateRequire(import.meta.url);',
        ].join(' '),
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // Ship the SDK version the tests ran against instead of whatever the runtime carries.
        bundleAwsSDK: true,
      },
    });
  }
}
