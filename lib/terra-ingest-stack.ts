import { CfnOutput, Stack, type RemovalPolicy, type StackProps } from 'aws-cdk-lib';
import type { ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Construct } from 'constructs';
import { destinations, queueSettings } from '../lambdas/shared/definitions';
import { PayloadBucket } from './constructs/payload-bucket';
import { IngestPipeline } from './constructs/pipeline';
import type { S3DestinationOptions } from './constructs/s3-destination';
import { TerraStorage } from './constructs/storage';
import { TerraDestinations } from './constructs/terra-destinations';
import { WebhookApi } from './constructs/webhook-api';
import { operatorFilledSecret } from './constructs/operator-secret';
import { EraseOnDeauth } from './constructs/eraser';
import type { Secret } from 'aws-cdk-lib/aws-secretsmanager';

export interface TerraIngestStackProps extends StackProps {
  /**
   * What happens to the DynamoDB tables, the payload bucket and the S3 destination bucket when
   * they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Accepted distance between a signature's timestamp and the ingest function's clock, in seconds.
   * @default defaults.signatureToleranceSeconds from lambdas/shared/definitions.ts
   */
  readonly signatureToleranceSeconds?: number;
  /**
   * Throttling of the webhook API.
   * @default { burstLimit: 500, rateLimit: 1000 }
   */
  readonly throttle?: ThrottleSettings;
  /**
   * Days the raw archive of deliveries (`archive/` in the payload bucket) is kept, for replay.
   * @default payloadBucket.archiveRetentionDays from lambdas/shared/definitions.ts
   */
  readonly archiveRetentionDays?: number;
  /**
   * Terra's SQS destination (terra-contract.md §10): a queue (output `DestinationQueueUrl`) Terra
   * sends `s3_payload` messages to, read by the consumer, and an IAM user (output
   * `DestinationUserName`) allowed only `sqs:SendMessage` and `sqs:GetQueueUrl` on it, for the
   * access key entered in Terra's dashboard. CLI: `-c sqsDestination=true`.
   * @default false
   */
  readonly sqsDestination?: boolean;
  /**
   * Terra's S3 destination (terra-contract.md §10): a bucket (output `DestinationBucketName`)
   * Terra writes whole events into; S3 notifies the consumer of each object through a queue.
   * `true` lets Terra in with an access key of the IAM user (output `DestinationUserName`),
   * allowed only `s3:PutObject` on the bucket's objects. `{ terraRoleArn }` lets Terra's role in
   * instead: a bucket policy allows it `destinations.bucket.terraRoleActions` on the objects, and
   * no user is created for S3.
   * CLI: `-c s3Destination=true [-c s3DestinationTerraRoleArn=arn:aws:iam::…:role/…]`.
   * The bucket follows `removalPolicy`.
   * @default false
   */
  readonly s3Destination?: boolean | S3DestinationOptions;
  /**
   * Erase a user when `deauth` or `access_revoked` arrives: the consumer asks, through a queue of
   * its own (delayed `erasure.delaySeconds`, so the user's deliveries already queued land first),
   * and an eraser function deletes the user's items and payload-bucket objects, as
   * `npm run erase-user -- <user_id> --yes` does. Off the ingest path. CLI: `-c eraseOnDeauth=true`.
   * @default false
   */
  readonly eraseOnDeauth?: boolean;
}

/** The props `cdk deploy -c name=value` turns on (bin/terra-ingest.ts). */
export type DestinationContext = Pick<TerraIngestStackProps, 'sqsDestination' | 's3Destination' | 'eraseOnDeauth'>;

/**
 * Reads `sqsDestination`, `s3Destination`, `s3DestinationTerraRoleArn` and `eraseOnDeauth` from CDK context. The
 * CLI passes `-c` values as strings; cdk.json may hold booleans. Anything unexpected throws rather
 * than deploying something other than what the operator asked for.
 */
export function destinationsFromContext(tryGetContext: (key: string) => unknown): DestinationContext {
  const flag = (key: string): boolean => {
    const value = tryGetContext(key);
    if (value === undefined || value === false || value === 'false') return false;
    if (value === true || value === 'true') return true;
    throw new Error(`context ${key} must be true or false; got ${JSON.stringify(value)}`);
  };
  const terraRoleArn = tryGetContext('s3DestinationTerraRoleArn');
  if (terraRoleArn !== undefined && typeof terraRoleArn !== 'string') {
    throw new Error(`context s3DestinationTerraRoleArn must be a role ARN; got ${JSON.stringify(terraRoleArn)}`);
  }
  const s3 = flag('s3Destination');
  if (terraRoleArn !== undefined && !s3) {
    throw new Error('context s3DestinationTerraRoleArn applies to the S3 destination: add -c s3Destination=true');
  }
  return {
    sqsDestination: flag('sqsDestination'),
    s3Destination: s3 && (terraRoleArn === undefined ? true : { terraRoleArn }),
    eraseOnDeauth: flag('eraseOnDeauth'),
  };
}

/** Terra webhooks → API Gateway → ingest Lambda → SQS → consumer Lambda → DynamoDB (and S3). */
export class TerraIngestStack extends Stack {
  readonly storage: TerraStorage;
  readonly payloads: PayloadBucket;
  readonly pipeline: IngestPipeline;
  readonly webhook: WebhookApi;
  /** Terra's SQS and S3 destinations; absent unless `sqsDestination` or `s3Destination` is on. */
  readonly destinations?: TerraDestinations;
  /** Erase on deauth; absent unless `eraseOnDeauth` is on. */
  readonly eraseOnDeauth?: EraseOnDeauth;
  /** Terra's REST API credentials (dev-id, API key) for the team's history tools; created empty. */
  readonly apiCredentials: Secret;

  constructor(scope: Construct, id: string, props: TerraIngestStackProps = {}) {
    super(scope, id, props);

    this.storage = new TerraStorage(this, 'Storage', { removalPolicy: props.removalPolicy });
    this.payloads = new PayloadBucket(this, 'Payloads', {
      archiveRetentionDays: props.archiveRetentionDays,
      removalPolicy: props.removalPolicy,
    });
    this.pipeline = new IngestPipeline(this, 'Pipeline', {
      dataTable: this.storage.dataTable,
      usersTable: this.storage.usersTable,
      eventsTable: this.storage.eventsTable,
      payloadBucket: this.payloads,
    });
    this.webhook = new WebhookApi(this, 'Webhook', {
      queue: this.pipeline.queue,
      payloadBucket: this.payloads,
      signatureToleranceSeconds: props.signatureToleranceSeconds,
      throttle: props.throttle,
    });
    // Read by the team's tools (npm run backfill -- --stack), never by a Lambda.
    this.apiCredentials = operatorFilledSecret(this, 'TerraApiCredentials', {
      description:
        'Terra REST API credentials for npm run backfill -- --stack: JSON {"dev_id": "...", "api_key": "..."}. ' +
        "Set it with 'aws secretsmanager put-secret-value'.",
      rotation: "Terra issues the API key and rotates it in its dashboard; the operator stores the new one",
    });
    if (props.sqsDestination || props.s3Destination) {
      this.destinations = new TerraDestinations(this, 'Destinations', {
        pipeline: this.pipeline,
        sqs: props.sqsDestination,
        s3: props.s3Destination,
        removalPolicy: props.removalPolicy,
      });
    }
    if (props.eraseOnDeauth) {
      this.eraseOnDeauth = new EraseOnDeauth(this, 'EraseOnDeauth', {
        dataTable: this.storage.dataTable,
        usersTable: this.storage.usersTable,
        eventsTable: this.storage.eventsTable,
        payloadBucket: this.payloads,
        consumerFunction: this.pipeline.consumerFunction,
      });
    }

    const outputs: Record<string, { value: string; description: string }> = {
      WebhookUrl: { value: this.webhook.webhookUrl, description: "The URL to enter in Terra's dashboard" },
      DataTableName: { value: this.storage.dataTable.tableName, description: 'One item per Terra record' },
      UsersTableName: { value: this.storage.usersTable.tableName, description: 'One item per Terra user' },
      EventsTableName: { value: this.storage.eventsTable.tableName, description: 'Other deliveries and their outcome' },
      SigningSecretName: {
        value: this.webhook.signingSecret.secretName,
        description:
          "Fill with Terra's signing secret(s): " +
          'aws secretsmanager put-secret-value --secret-id <this name> --secret-string <secret[,secret]>',
      },
      QueueUrl: { value: this.pipeline.queue.queueUrl, description: 'Verified deliveries waiting for the consumer' },
      DeadLetterQueueUrl: {
        value: this.pipeline.deadLetterQueue.queueUrl,
        description: `Deliveries the consumer failed on ${queueSettings.maxReceiveCount} times`,
      },
      PayloadBucketName: {
        value: this.payloads.bucket.bucketName,
        description: 'Large bodies (deliveries/), the raw archive for replay (archive/), large records (records/)',
      },
      ApiCredentialsSecretName: {
        value: this.apiCredentials.secretName,
        description:
          "Fill with Terra's REST API credentials for npm run backfill -- --stack: " +
          'aws secretsmanager put-secret-value --secret-id <this name> --secret-string \'{"dev_id":"…","api_key":"…"}\'',
      },
      ...this.destinationOutputs(),
      ...(this.eraseOnDeauth && {
        ErasureDeadLetterQueueUrl: {
          value: this.eraseOnDeauth.deadLetterQueue.queueUrl,
          description: `Erase-on-deauth requests the eraser failed on ${queueSettings.maxReceiveCount} times; redrive them once fixed`,
        },
      }),
    };
    for (const [name, output] of Object.entries(outputs)) new CfnOutput(this, name, output);
  }

  private destinationOutputs(): Record<string, { value: string; description: string }> {
    const { sqs, s3, terraUser } = this.destinations ?? {};
    const failedOn = `the consumer failed on ${queueSettings.maxReceiveCount} times; redrive them once fixed`;
    return {
      ...(sqs && {
        DestinationQueueUrl: {
          value: sqs.queue.queueUrl,
          description: "Terra's SQS destination: enter this queue URL and the stack's region in Terra's dashboard",
        },
        DestinationDeadLetterQueueUrl: {
          value: sqs.deadLetterQueue.queueUrl,
          description: `Messages from Terra's SQS destination ${failedOn}`,
        },
      }),
      ...(s3 && {
        DestinationBucketName: {
          value: s3.bucket.bucketName,
          description:
            "Terra's S3 destination: enter this bucket name and the stack's region in Terra's dashboard " +
            `(objects expire after ${destinations.bucket.retentionDays} days)`,
        },
        DestinationEventsDeadLetterQueueUrl: {
          value: s3.notifications.deadLetterQueue.queueUrl,
          description: `Notifications of objects in the S3 destination bucket ${failedOn}`,
        },
      }),
      ...(terraUser && {
        DestinationUserName: {
          value: terraUser.userName,
          description:
            "IAM user for Terra's destinations; create its access key for Terra's dashboard with: " +
            'aws iam create-access-key --user-name <this name>',
        },
      }),
    };
  }
}
