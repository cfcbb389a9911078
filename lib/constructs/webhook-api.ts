import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { defaults } from '../../lambdas/shared/definitions';
import { NodeFunction } from './node-function';
import { operatorFilledSecret } from './operator-secret';
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
}

/**
 * The public `POST /webhook` endpoint Terra calls: an HTTP API in front of the ingest function,
 * which checks Terra's HMAC signature against the signing secret and queues the delivery.
 */
export class WebhookApi extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly webhookUrl: string;
  readonly signingSecret: secretsmanager.Secret;
  readonly ingestFunction: NodejsFunction;

  constructor(scope: Construct, id: string, props: WebhookApiProps) {
    super(scope, id);

    this.signingSecret = operatorFilledSecret(this, 'SigningSecret', {
      description: [
        'Terra webhook signing secret(s): a comma-separated list, so that during a rotation both the old',
        "and the new secret verify. Set it with 'aws secretsmanager put-secret-value'.",
      ].join(' '),
      rotation: 'Terra issues the signing secret and rotates it in its dashboard; the value is a list so the operator can rotate with an overlap',
    });

    const ingest = new NodeFunction(this, 'Ingest', {
      lambda: 'ingest',
      description: 'Verifies Terra webhook signatures and queues the deliveries',
      memorySize: 512,
      // Terra gives up after about 8 s; a slower answer is worth nothing.
      timeout: Duration.seconds(10),
      logRetention: props.logRetention,
      environment: {
        QUEUE_URL: props.queue.queueUrl,
        PAYLOAD_BUCKET: props.payloadBucket.bucket.bucketName,
        // The ARN, never the value: the function reads the value at run time.
        SIGNING_SECRET_ID: this.signingSecret.secretArn,
        TERRA_SIGNATURE_TOLERANCE_SECONDS: String(
          props.signatureToleranceSeconds ?? defaults.signatureToleranceSeconds,
        ),
        POWERTOOLS_SERVICE_NAME: 'terra-ingest-webhook',
      },
    });
    this.ingestFunction = ingest.function;
    props.queue.grantSendMessages(this.ingestFunction);
    this.signingSecret.grantRead(this.ingestFunction);
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
    });
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
