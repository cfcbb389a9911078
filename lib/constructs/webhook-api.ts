import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { defaults, observability } from '../../lambdas/shared/definitions';
import { grantSendMessages } from './destination-queue';
import { acknowledgeLogGroupEncryption, NodeFunction } from './node-function';
import { grantSecretRead, operatorFilledSecret } from './operator-secret';
import type { PayloadBucket } from './payload-bucket';

export interface WebhookApiProps {
  /** The queue the ingest function sends each verified delivery to. */
  readonly queue: sqs.IQueue;
  /** Where the ingest function puts bodies too large for one message (`deliveries/` only). */
  readonly payloadBucket: PayloadBucket;
  /**
   * How far the signature's timestamp may be from the function's clock, in seconds.
   * @default defaults.signatureToleranceSeconds (300)
   */
  readonly signatureToleranceSeconds?: number;
  /**
   * Throttling of the API's default stage.
   * @default { burstLimit: 500, rateLimit: 1000 }
   */
  readonly throttle?: apigwv2.ThrottleSettings;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Source addresses and CIDR blocks the ingest function admits (`ALLOWED_SOURCE_IPS`), a second
   * layer behind the signature; see source-ip-allowlist.ts.
   * @default - any source (the variable is not set)
   */
  readonly allowedSourceIps?: readonly string[];
  /** @default false */
  readonly tracing?: boolean;
  /**
   * Customer-managed KMS key for the signing secret and the log groups.
   * @default - AWS-managed and service-managed encryption
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * The public `POST /webhook` endpoint Terra calls: an HTTP API in front of the ingest function,
 * which checks Terra's HMAC signature against the signing secret and queues the delivery.
 */
export class WebhookApi extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly webhookUrl: string;
  readonly signingSecret: secretsmanager.Secret;
  readonly ingestFunction: lambda.Function;
  /** The API's access logs (request metadata only). */
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: WebhookApiProps) {
    super(scope, id);

    this.signingSecret = operatorFilledSecret(this, 'SigningSecret', {
      description: [
        'Terra webhook signing secret(s): a comma-separated list, so that during a rotation both the old',
        "and the new secret verify. Set it with 'aws secretsmanager put-secret-value'.",
      ].join(' '),
      rotation:
        'Terra issues the signing secret and rotates it in its dashboard; the value is a list so the operator can rotate with an overlap',
      encryptionKey: props.encryptionKey,
    });

    const ingest = new NodeFunction(this, 'Ingest', {
      lambda: 'ingest',
      description: 'Verifies Terra webhook signatures and queues the deliveries',
      memorySize: 512,
      // Terra gives up after about 8 s; a slower answer is worth nothing.
      timeout: Duration.seconds(10),
      logRetention: props.logRetention,
      tracing: props.tracing,
      encryptionKey: props.encryptionKey,
      environment: {
        QUEUE_URL: props.queue.queueUrl,
        PAYLOAD_BUCKET: props.payloadBucket.bucket.bucketName,
        // The ARN, never the value: the function reads the value at run time.
        SIGNING_SECRET_ID: this.signingSecret.secretArn,
        TERRA_SIGNATURE_TOLERANCE_SECONDS: String(props.signatureToleranceSeconds ?? defaults.signatureToleranceSeconds),
        POWERTOOLS_SERVICE_NAME: observability.services.ingest,
        // Absent, not empty, when off: the function then admits any source.
        ...(props.allowedSourceIps && { ALLOWED_SOURCE_IPS: props.allowedSourceIps.join(',') }),
      },
    });
    this.ingestFunction = ingest.function;
    grantSendMessages(props.queue, this.ingestFunction);
    grantSecretRead(this.signingSecret, this.ingestFunction, props.encryptionKey);
    props.payloadBucket.grantObjects(this.ingestFunction, 'deliveries', 's3:PutObject');

    // The default stage is declared separately because HttpApi's own cannot log access.
    this.api = new apigwv2.HttpApi(this, 'HttpApi', {
      apiName: `${Stack.of(this).stackName}-webhook`,
      description: 'Receives Terra webhooks',
      createDefaultStage: false,
    });
    const routes = this.api.addRoutes({
      path: '/webhook',
      methods: [apigwv2.HttpMethod.POST],
      integration: new HttpLambdaIntegration('IngestIntegration', this.ingestFunction, {
        payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
      }),
    });
    for (const route of routes) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: 'the HMAC signature checked in the ingest function is the authorization',
      });
    }

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: props.encryptionKey,
    });
    this.accessLogs = accessLogs;
    if (!props.encryptionKey) acknowledgeLogGroupEncryption(accessLogs);
    new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      autoDeploy: true,
      throttle: props.throttle ?? { burstLimit: 500, rateLimit: 1000 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        // Request metadata only: headers and bodies carry signatures and health data.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTime',
            routeKey: '$context.routeKey',
            status: '$context.status',
            protocol: '$context.protocol',
            responseLength: '$context.responseLength',
            responseLatency: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationLatency: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
            error: '$context.error.message',
          }),
        ),
      },
    });

    this.webhookUrl = `${this.api.apiEndpoint}/webhook`;
  }
}
