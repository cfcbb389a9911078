import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { payloadBucket } from '../../lambdas/shared/definitions';

/** The bucket's prefixes, as `lambdas/shared/definitions.ts` names them. */
export type PayloadPrefix = keyof typeof payloadBucket.prefixes;

/** Object-level actions a function may be granted on one prefix. */
export type PayloadObjectAction = 's3:GetObject' | 's3:PutObject' | 's3:DeleteObject' | 's3:AbortMultipartUpload';

export interface PayloadBucketProps {
  /**
   * Days an object under `archive/` (the raw copy of every authenticated delivery, for replay)
   * is kept. A whole number of at least 1.
   * @default payloadBucket.archiveRetentionDays from lambdas/shared/definitions.ts (30)
   */
  readonly archiveRetentionDays?: number;
  /**
   * What CloudFormation does with the bucket when it leaves the stack. Objects are never deleted
   * automatically, so a non-empty bucket fails to delete even with RemovalPolicy.DESTROY.
   * @default RemovalPolicy.RETAIN — the archive and the large records outlive the stack
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Customer-managed KMS key for the objects; the grants below then include the key.
   * @default - S3-managed keys (SSE-S3)
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * A bucket (an account- or organisation-wide one) for S3 server access logs. An imported
   * bucket's policy must already let `logging.s3.amazonaws.com` write to it.
   * @default - no server access logs; see the acknowledged AwsSolutions-S1 finding
   */
  readonly serverAccessLogsBucket?: s3.IBucket;
  /**
   * Key prefix of the access logs in `serverAccessLogsBucket`.
   * @default 'terra-ingest-payloads/'
   */
  readonly serverAccessLogsPrefix?: string;
}

/**
 * The private bucket behind the pipeline: bodies too large for one SQS message (`deliveries/`),
 * the raw archive of every delivery (`archive/`) and records too large for a DynamoDB item
 * (`records/`). Each prefix has its own lifetime; access is granted per prefix and action.
 */
export class PayloadBucket extends Construct {
  readonly bucket: s3.Bucket;
  private readonly encryptionKey?: kms.IKey;

  constructor(scope: Construct, id: string, props: PayloadBucketProps = {}) {
    super(scope, id);

    const archiveRetentionDays = props.archiveRetentionDays ?? payloadBucket.archiveRetentionDays;
    if (!Number.isInteger(archiveRetentionDays) || archiveRetentionDays < 1) {
      throw new Error(`archiveRetentionDays must be a whole number of days, at least 1; got ${archiveRetentionDays}`);
    }
    this.encryptionKey = props.encryptionKey;

    // No bucketName: a generated name lets several stacks share an account.
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      ...(props.encryptionKey
        ? { encryption: s3.BucketEncryption.KMS, encryptionKey: props.encryptionKey, bucketKeyEnabled: true }
        : { encryption: s3.BucketEncryption.S3_MANAGED }),
      enforceSSL: true,
      // Every key is written once (claim checks and archive keys are unique, records carry a
      // digest); versions would only keep deleted and expired objects alive.
      versioned: false,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      serverAccessLogsBucket: props.serverAccessLogsBucket,
      serverAccessLogsPrefix: props.serverAccessLogsBucket ? (props.serverAccessLogsPrefix ?? 'terra-ingest-payloads/') : undefined,
      lifecycleRules: [
        {
          id: 'expire-deliveries',
          // As long as a message pointing at the body can live, dead-letter queue included.
          prefix: payloadBucket.prefixes.deliveries,
          expiration: Duration.days(payloadBucket.deliveriesRetentionDays),
        },
        {
          id: 'expire-archive',
          prefix: payloadBucket.prefixes.archive,
          expiration: Duration.days(archiveRetentionDays),
        },
        {
          // The markers that find one user's archived deliveries live as long as what they name.
          id: 'expire-archive-index',
          prefix: payloadBucket.prefixes.archiveIndex,
          expiration: Duration.days(archiveRetentionDays),
        },
        // records/ never expires: a DynamoDB item points at each object for as long as it lives.
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });

    if (!props.serverAccessLogsBucket) {
      const reason =
        'no principal outside the function roles of this stack is granted access, and those roles only ' +
        'per prefix; per-request audit is left to CloudTrail S3 data events or a central log bucket, ' +
        'which the serverAccessLogsBucket prop accepts';
      Validations.of(this.bucket).acknowledge({ id: 'AwsSolutions-S1', reason });
      Validations.of(this.bucket).acknowledge({ id: 'HIPAA.Security-S3BucketLoggingEnabled', reason });
    }
    Validations.of(this.bucket).acknowledge({
      id: 'HIPAA.Security-S3BucketVersioningEnabled',
      reason:
        'every key is written once (claim checks and archive keys are unique, records carry a digest); versions would ' +
        'only keep objects alive that a lifecycle rule expired or an erase (erase-user, erase on deauth) deleted',
    });
    Validations.of(this.bucket).acknowledge({
      id: 'HIPAA.Security-S3BucketReplicationEnabled',
      reason:
        'the tables (with point-in-time recovery) are the system of record; the bucket holds expiring copies (deliveries/, ' +
        'archive/) and what items point to, and a replica in another Region or account is a disaster-recovery choice ' +
        'for the operator, outside this stack, which would also have to follow every erase',
    });
    if (!props.encryptionKey) {
      Validations.of(this.bucket).acknowledge({
        id: 'HIPAA.Security-S3DefaultEncryptionKMS',
        reason:
          'objects are encrypted with S3-managed keys (SSE-S3, AES-256); the stack prop customerManagedKey puts them under a customer-managed KMS key',
      });
    }
  }

  /**
   * Allows `grantee` the given object actions on one prefix, and nothing else: one statement on
   * `<bucket>/<prefix>*`, plus the KMS key's actions those need when the bucket has one: Decrypt
   * to read, GenerateDataKey to write, and Decrypt as well to write in parts (what
   * AbortMultipartUpload being granted says), since S3 reads the encrypted parts to complete the upload.
   */
  grantObjects(grantee: iam.IGrantable, prefix: PayloadPrefix, ...actions: PayloadObjectAction[]): void {
    const objects = `${payloadBucket.prefixes[prefix]}*`;
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources: [this.bucket.arnForObjects(objects)] }));
    if (this.encryptionKey) {
      const keyActions = [
        ...(actions.includes('s3:GetObject') || actions.includes('s3:AbortMultipartUpload') ? ['kms:Decrypt'] : []),
        ...(actions.includes('s3:PutObject') ? ['kms:GenerateDataKey'] : []),
      ];
      if (keyActions.length > 0) this.encryptionKey.grant(grantee, ...keyActions);
    }

    // Keys under a prefix are made up per delivery or record (dates, ids, digests), so the prefix
    // wildcard is the narrowest resource that can name them.
    const bucket = this.bucket.node.defaultChild as s3.CfnBucket;
    const finding = `AwsSolutions-IAM5[Resource::<${Stack.of(bucket).getLogicalId(bucket)}.Arn>/${objects}]`;
    const principal = grantee.grantPrincipal;
    if (Construct.isConstruct(principal)) {
      Validations.of(principal).acknowledge({
        id: finding,
        reason: `object keys under ${payloadBucket.prefixes[prefix]} are generated per delivery or record; the grant is limited to that prefix`,
      });
    }
  }
}
