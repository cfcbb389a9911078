import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { destinations } from '../../lambdas/shared/definitions';
import { DestinationQueue } from './destination-queue';
import { allowOnKey, keyViaStatement } from './encryption-key';

/** How Terra is let into the S3 destination bucket. */
export interface S3DestinationOptions {
  /**
   * Terra's IAM role, granted `destinations.bucket.terraRoleActions` on the bucket's objects by a
   * bucket policy (the access Terra's older documentation describes, with the role
   * `destinations.bucket.terraRoleArn`). No IAM user is then needed for the bucket.
   * @default - Terra writes with an access key of an IAM user allowed `s3:PutObject` only
   */
  readonly terraRoleArn?: string;
}

export interface TerraS3DestinationProps extends S3DestinationOptions {
  /**
   * What CloudFormation does with the bucket when it leaves the stack. Objects are never deleted
   * automatically, so a non-empty bucket fails to delete even with RemovalPolicy.DESTROY.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Customer-managed KMS key (stack prop `customerManagedKey`) for the notification queues and,
   * when Terra writes with the IAM user's access key, for the bucket. With `terraRoleArn` the
   * bucket stays on SSE-S3: Terra's role lives in Terra's account, whose own IAM policies would
   * have to allow it this key, and nothing on this side can arrange that.
   * @default - SSE-S3 for the bucket, SQS-managed encryption for the queues
   */
  readonly encryptionKey?: kms.IKey;
}

const roleArnPattern = /^arn:aws[a-z-]*:iam::\d{12}:role\/\S+$/;

/** The IAM policy resource for "every object in the bucket": Terra chooses every key. */
const allObjects = '*';

/**
 * Terra's S3 destination (docs/terra.md §10): a private bucket Terra writes whole events into,
 * and a queue (with its dead-letter queue) that S3 notifies of each object created, for the
 * consumer to read. The bucket is a landing zone: the consumer copies what it reads into the
 * tables and the payload bucket, so objects (and versions replaced by a later write of their key)
 * expire after `destinations.bucket.retentionDays`.
 */
export class TerraS3Destination extends Construct {
  readonly bucket: s3.Bucket;
  /** Receives the bucket's ObjectCreated notifications. */
  readonly notifications: DestinationQueue;
  readonly terraRoleArn?: string;
  /** The bucket's customer-managed key; absent when the bucket is on SSE-S3. */
  readonly bucketKey?: kms.IKey;

  constructor(scope: Construct, id: string, props: TerraS3DestinationProps = {}) {
    super(scope, id);

    if (props.terraRoleArn !== undefined && !Token.isUnresolved(props.terraRoleArn) && !roleArnPattern.test(props.terraRoleArn)) {
      throw new Error(`terraRoleArn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>); got '${props.terraRoleArn}'`);
    }
    this.terraRoleArn = props.terraRoleArn;
    this.bucketKey = props.terraRoleArn === undefined ? props.encryptionKey : undefined;

    // No bucketName: a generated name lets several stacks share an account.
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // Terra writes from its own account; with ACLs off the objects are this account's, so the
      // consumer can read them.
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Under a KMS key Terra's principal needs the key too: the IAM user is granted it
      // (terraUserStatements), Terra's own role cannot be (see encryptionKey).
      ...(this.bucketKey
        ? { encryption: s3.BucketEncryption.KMS, encryptionKey: this.bucketKey, bucketKeyEnabled: true }
        : { encryption: s3.BucketEncryption.S3_MANAGED }),
      enforceSSL: true,
      // Terra's keys are `<user_id>-<first record's start_time>.json`, so two different events can
      // share one (a backfill chunk and a later update starting the same day). Each notification
      // names the version it announces, and the consumer reads that version: without versions a
      // second write landing before the first notification is read would lose the first event.
      versioned: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      lifecycleRules: [
        // Replaced versions live as long as current ones: a notification may wait in its queue
        // (and dead-letter queue) for days before its version is read.
        {
          id: 'expire-terra-objects',
          expiration: Duration.days(destinations.bucket.retentionDays),
          noncurrentVersionExpiration: Duration.days(destinations.bucket.retentionDays),
        },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
    this.acknowledgeBucketFindings(props);

    if (props.terraRoleArn !== undefined) {
      this.bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ArnPrincipal(props.terraRoleArn)],
          actions: [...destinations.bucket.terraRoleActions],
          resources: [this.bucket.arnForObjects(allObjects)],
        }),
      );
    }

    this.notifications = new DestinationQueue(this, 'Events', { encryptionKey: props.encryptionKey });
    // CDK's notification custom resource sets the configuration once the queue policy lets S3 in.
    this.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new QueueNotificationDestination(this.notifications.queue));
    this.acknowledgeNotificationsHandler();
  }

  /**
   * What an IAM user's access key for Terra needs here: `s3:PutObject` on any key, nothing else
   * (no read, list or delete), and with the bucket under a KMS key, that key through S3 only:
   * GenerateDataKey for each object, Decrypt for an object S3 assembles from parts. Empty when a
   * bucket policy lets Terra's role in instead.
   */
  terraUserStatements(): iam.PolicyStatement[] {
    if (this.terraRoleArn !== undefined) return [];
    return [
      new iam.PolicyStatement({
        actions: [...destinations.bucket.terraUserActions],
        resources: [this.bucket.arnForObjects(allObjects)],
      }),
      ...(this.bucketKey ? [keyViaStatement(this.bucketKey, 's3', 'kms:GenerateDataKey', 'kms:Decrypt')] : []),
    ];
  }

  /**
   * Lets `grantee` read any object, in any version (the consumer reads the version each S3
   * notification announces), and list the bucket (so a missing key answers 404), and nothing
   * else: no write or delete. Written out because `grantRead` adds `s3:List*` and `s3:GetBucket*`.
   */
  grantGetObject(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: [this.bucket.arnForObjects(allObjects)] }),
    );
    // Without it S3 answers a missing key with 403, not 404: the consumer asks whether a FIT file
    // sits beside an activity, and must tell "absent" from "forbidden".
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }),
    );
    this.bucketKey?.grant(grantee, 'kms:Decrypt');
    const principal = grantee.grantPrincipal;
    if (Construct.isConstruct(principal)) {
      Validations.of(principal).acknowledge({
        id: this.allObjectsFinding(),
        reason:
          "Terra names the destination bucket's objects; the bucket holds nothing else, and only GetObject and GetObjectVersion are granted",
      });
    }
  }

  /** cdk-nag's IAM5 finding for a grant on every object of this bucket, for acknowledging it. */
  allObjectsFinding(): string {
    const bucket = this.bucket.node.defaultChild as s3.CfnBucket;
    return `AwsSolutions-IAM5[Resource::<${Stack.of(bucket).getLogicalId(bucket)}.Arn>/${allObjects}]`;
  }

  private acknowledgeBucketFindings(props: TerraS3DestinationProps): void {
    const audit =
      'only Terra (one IAM user or role, object writes only) and the consumer (GetObject) are granted access; ' +
      'objects live for days and are copied into the stack; per-request audit is left to CloudTrail S3 data events';
    Validations.of(this.bucket).acknowledge({ id: 'AwsSolutions-S1', reason: audit });
    Validations.of(this.bucket).acknowledge({ id: 'HIPAA.Security-S3BucketLoggingEnabled', reason: audit });
    Validations.of(this.bucket).acknowledge({
      id: 'HIPAA.Security-S3BucketReplicationEnabled',
      reason:
        `a landing zone: the consumer copies each object into the tables and the payload bucket within seconds, and objects expire after ${destinations.bucket.retentionDays} days; ` +
        'the copies, not this bucket, are what a replica would have to protect',
    });
    if (this.bucketKey) return;
    Validations.of(this.bucket).acknowledge({
      id: 'HIPAA.Security-S3DefaultEncryptionKMS',
      reason: props.encryptionKey
        ? "objects are encrypted with S3-managed keys (SSE-S3, AES-256): Terra writes with its own role (terraRoleArn), which lives in Terra's account, whose IAM policies would have to allow it this stack's KMS key"
        : 'objects are encrypted with S3-managed keys (SSE-S3, AES-256); the stack prop customerManagedKey puts them under a customer-managed KMS key',
    });
  }

  private acknowledgeNotificationsHandler(): void {
    // The policy CDK writes for the handler's role, beside this bucket: s3:PutBucketNotification on it.
    const handlerPolicy = this.bucket.node.tryFindChild('Notifications')?.node.tryFindChild('HandlerPolicy');
    if (handlerPolicy) {
      Validations.of(handlerPolicy).acknowledge({
        id: 'HIPAA.Security-IAMNoInlinePolicy',
        reason:
          "CDK's bucket-notifications handler gets s3:PutBucketNotification on this bucket alone, in a policy attached to its role only",
      });
    }
    // addEventNotification creates one handler per stack, at its root, with the ID below.
    const handler = Stack.of(this).node.tryFindChild('BucketNotificationsHandler050a0587b7544547bf325f094a3db834');
    if (!handler) return;
    Validations.of(handler).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        "CDK's bucket-notifications handler runs only when the stack deploys, to set this bucket's notifications " +
        '(s3:PutBucketNotification on this bucket only); CDK gives its role the managed policy for its own logs',
    });
  }
}

/**
 * S3 notifications into `queue`, set up as s3n.SqsDestination does (a queue-policy statement for
 * S3 on behalf of this bucket), except that under a KMS key S3 is allowed exactly the
 * `kms:GenerateDataKey` and `kms:Decrypt` SQS asks of a producer: s3n.SqsDestination grants
 * `kms:GenerateDataKey*`.
 */
class QueueNotificationDestination implements s3.IBucketNotificationDestination {
  constructor(private readonly queue: sqs.Queue) {}

  bind(_scope: Construct, bucket: s3.IBucketRef): s3.BucketNotificationDestinationConfig {
    const s3Principal = new iam.ServicePrincipal('s3.amazonaws.com');
    this.queue.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [s3Principal],
        actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
        resources: [this.queue.queueArn],
        conditions: { ArnLike: { 'aws:SourceArn': bucket.bucketRef.bucketArn } },
      }),
    );
    const key = this.queue.encryptionMasterKey;
    if (key) {
      // The key policy form S3's documentation gives for notifications into an encrypted queue.
      allowOnKey(
        key,
        new iam.PolicyStatement({ principals: [s3Principal], actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: ['*'] }),
      );
    }
    // The queue's policy is part of the queue, so S3 validates the configuration after S3 is let in.
    return { arn: this.queue.queueArn, type: s3.BucketNotificationDestinationType.QUEUE, dependencies: [this.queue] };
  }
}
