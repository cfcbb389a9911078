import { CfnOutput, Stack, type RemovalPolicy, type StackProps } from 'aws-cdk-lib';
import type { ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { destinations, queueSettings } from '../lambdas/shared/definitions';
import { customerManagedKey, type CustomerManagedKeyOption } from './constructs/encryption-key';
import { EraseOnDeauth } from './constructs/eraser';
import { operatorFilledSecret } from './constructs/operator-secret';
import { PayloadBucket } from './constructs/payload-bucket';
import { type MonitoringOptions, monitoredResourcesOf, TerraMonitoring } from './constructs/monitoring';
import { IngestPipeline } from './constructs/pipeline';
import type { S3DestinationOptions } from './constructs/s3-destination';
import { allowedSourceIps, type SourceIpAllowlistOption } from './constructs/source-ip-allowlist';
import { TerraStorage } from './constructs/storage';
import { TerraDestinations } from './constructs/terra-destinations';
import { WebhookApi } from './constructs/webhook-api';

export { propsFromContext, type ContextProps } from './constructs/stack-context';

/**
 * Monitoring (`alarmEmail`, CLI `-c alarmEmail=ops@example.com`; `queueAgeAlarmSeconds`;
 * `rejectedSignaturesAlarmThreshold`) is documented on lib/constructs/monitoring.ts.
 */
export interface TerraIngestStackProps extends StackProps, MonitoringOptions {
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
   * Terra's SQS destination (docs/terra.md §10): a queue (output `DestinationQueueUrl`) Terra
   * sends `s3_payload` messages to, read by the consumer, and an IAM user (output
   * `DestinationUserName`) allowed only `sqs:SendMessage` and `sqs:GetQueueUrl` on it, for the
   * access key entered in Terra's dashboard. CLI: `-c sqsDestination=true`.
   * @default false
   */
  readonly sqsDestination?: boolean;
  /**
   * Terra's S3 destination (docs/terra.md §10): a bucket (output `DestinationBucketName`)
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
  /**
   * The most consumer instances each queue the consumer reads may keep busy (its event source's
   * `maximumConcurrency`, 2 to 1,000), so that a backlog after an outage drains at a pace the tables
   * and the account's Lambda concurrency absorb; see `consumerMaxConcurrencyDefault` in
   * lib/constructs/pipeline.ts. Per queue: the SQS and S3 destinations' queues each have their own.
   * CLI: `-c consumerMaxConcurrency=20`.
   * @default consumerMaxConcurrencyDefault (10)
   */
  readonly consumerMaxConcurrency?: number;
  /**
   * Records whose JSON is larger than this many bytes are stored gzipped (`payload_gzip`) rather
   * than as a readable map (`payload`): the consumer's `RECORD_MAP_MAX_BYTES`. The default follows
   * `npm run bench`'s cost rows (a map item over 1 KB costs 2–10× the write units of its gzip);
   * 307200 keeps every record a map that fits in an item. CLI: `-c recordMapMaxBytes=307200`.
   * @default defaults.recordMapMaxBytes (768)
   */
  readonly recordMapMaxBytes?: number;
  /**
   * Admit webhook requests only from these source addresses, checked by the ingest function
   * (`ALLOWED_SOURCE_IPS`; HTTP APIs take no resource policy or WAF). A second layer only: Terra
   * says its addresses may change, and the HMAC signature stays the authentication either way.
   * `true`: Terra's published addresses (`terraSourceIps`, docs/terra.md §1); a list: your own
   * IPv4/IPv6 addresses or CIDR blocks, checked at synth. CLI: `-c sourceIpAllowlist=true` or
   * `-c sourceIpAllowlist=203.0.113.0/24,198.51.100.7`.
   * @default false — any source, as long as the signature verifies
   */
  readonly sourceIpAllowlist?: SourceIpAllowlistOption;
  /**
   * Encrypt the tables, every queue and dead-letter queue, the payload bucket, the S3 destination
   * bucket (unless Terra writes with its own role), every log group and both secrets with a
   * customer-managed KMS key. `true` creates one (rotating yearly, retained, alias
   * `alias/<stack name>`, output `EncryptionKeyArn`); a key uses that one, whose policy must then
   * let CloudWatch Logs and S3 use it as the stack would (synth warns with the statements).
   * Terra's IAM user is allowed the key through SQS and S3 only. CLI: `-c customerManagedKey=true`.
   * @default false — AWS-managed (tables, secrets) and service-managed (SSE-SQS, SSE-S3, CloudWatch Logs) encryption
   */
  readonly customerManagedKey?: CustomerManagedKeyOption;
  /**
   * Active X-Ray tracing on every function: Lambda records each invocation. No tracer library is in
   * the handlers, so calls to AWS services show no subsegments. CLI: `-c tracing=true`.
   * @default false
   */
  readonly tracing?: boolean;
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
  /**
   * The customer-managed key everything is encrypted with; absent unless `customerManagedKey` is on.
   * Further resources holding Terra data (an alarm topic, say) should use it too.
   */
  readonly encryptionKey?: kms.IKey;
  /** The alarms (into one SNS topic, output `AlarmTopicArn`) and the dashboard. */
  readonly monitoring: TerraMonitoring;

  constructor(scope: Construct, id: string, props: TerraIngestStackProps = {}) {
    super(scope, id, props);

    const encryptionKey = customerManagedKey(this, props.customerManagedKey);
    this.encryptionKey = encryptionKey;
    const tracing = props.tracing ?? false;
    this.storage = new TerraStorage(this, 'Storage', { removalPolicy: props.removalPolicy, encryptionKey });
    this.payloads = new PayloadBucket(this, 'Payloads', {
      archiveRetentionDays: props.archiveRetentionDays,
      removalPolicy: props.removalPolicy,
      encryptionKey,
    });
    this.pipeline = new IngestPipeline(this, 'Pipeline', {
      dataTable: this.storage.dataTable,
      usersTable: this.storage.usersTable,
      eventsTable: this.storage.eventsTable,
      payloadBucket: this.payloads,
      consumerMaxConcurrency: props.consumerMaxConcurrency,
      recordMapMaxBytes: props.recordMapMaxBytes,
      tracing,
      encryptionKey,
    });
    this.webhook = new WebhookApi(this, 'Webhook', {
      queue: this.pipeline.queue,
      payloadBucket: this.payloads,
      signatureToleranceSeconds: props.signatureToleranceSeconds,
      throttle: props.throttle,
      allowedSourceIps: allowedSourceIps(props.sourceIpAllowlist),
      tracing,
      encryptionKey,
    });
    // Read by the team's tools (npm run backfill -- --stack), never by a Lambda.
    this.apiCredentials = operatorFilledSecret(this, 'TerraApiCredentials', {
      description:
        'Terra REST API credentials for npm run backfill -- --stack: JSON {"dev_id": "...", "api_key": "..."}. ' +
        "Set it with 'aws secretsmanager put-secret-value'.",
      rotation: 'Terra issues the API key and rotates it in its dashboard; the operator stores the new one',
      encryptionKey,
    });
    if (props.sqsDestination || props.s3Destination) {
      this.destinations = new TerraDestinations(this, 'Destinations', {
        pipeline: this.pipeline,
        sqs: props.sqsDestination,
        s3: props.s3Destination,
        removalPolicy: props.removalPolicy,
        encryptionKey,
      });
    }
    if (props.eraseOnDeauth) {
      this.eraseOnDeauth = new EraseOnDeauth(this, 'EraseOnDeauth', {
        dataTable: this.storage.dataTable,
        usersTable: this.storage.usersTable,
        eventsTable: this.storage.eventsTable,
        payloadBucket: this.payloads,
        consumerFunction: this.pipeline.consumerFunction,
        tracing,
        encryptionKey,
      });
    }

    this.monitoring = new TerraMonitoring(this, 'Monitoring', {
      ...monitoredResourcesOf(this),
      alarmEmail: props.alarmEmail,
      queueAgeAlarmSeconds: props.queueAgeAlarmSeconds,
      rejectedSignaturesAlarmThreshold: props.rejectedSignaturesAlarmThreshold,
      encryptionKey,
    });

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
      AlarmTopicArn: {
        value: this.monitoring.alarmTopic.topicArn,
        description: 'Every alarm of the stack notifies this topic (firing and recovered): subscribe your pager or chat here',
      },
      ...(encryptionKey && {
        EncryptionKeyArn: {
          value: encryptionKey.keyArn,
          description: 'The customer-managed KMS key of the tables, queues, buckets, log groups and secrets',
        },
      }),
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
