import type { RemovalPolicy } from 'aws-cdk-lib';
import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { IngestPipeline } from './pipeline';
import { TerraS3Destination, type S3DestinationOptions } from './s3-destination';
import { TerraSqsDestination } from './sqs-destination';

export interface TerraDestinationsProps {
  /** Its consumer reads every destination's queue. */
  readonly pipeline: IngestPipeline;
  /**
   * Create Terra's SQS destination.
   * @default false
   */
  readonly sqs?: boolean;
  /**
   * Create Terra's S3 destination; an object names Terra's role for a bucket policy instead of
   * an IAM user.
   * @default false
   */
  readonly s3?: boolean | S3DestinationOptions;
  /**
   * What happens to the S3 destination bucket when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Customer-managed KMS key (stack prop `customerManagedKey`) for the destinations' queues and,
   * unless Terra writes with its own role, the S3 destination bucket; Terra's IAM user is then
   * allowed the key through SQS and S3 only.
   * @default - SQS-managed encryption and SSE-S3
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * Terra's AWS-native destinations (docs/terra.md §10) as further front doors of the consumer,
 * beside the webhook, and the one IAM user whose access key Terra is given for them. The user
 * exists only when a destination needs it, and the stack never creates its access key: the
 * secret would be in the template. The operator creates the key with the AWS CLI.
 */
export class TerraDestinations extends Construct {
  readonly sqs?: TerraSqsDestination;
  readonly s3?: TerraS3Destination;
  /** The user for Terra's access key; absent when no destination needs one. */
  readonly terraUser?: iam.User;

  constructor(scope: Construct, id: string, props: TerraDestinationsProps) {
    super(scope, id);

    if (props.sqs) this.sqs = new TerraSqsDestination(this, 'Sqs', { encryptionKey: props.encryptionKey });
    if (props.s3) {
      this.s3 = new TerraS3Destination(this, 'S3', {
        ...(typeof props.s3 === 'object' ? props.s3 : {}),
        removalPolicy: props.removalPolicy,
        encryptionKey: props.encryptionKey,
      });
    }

    for (const destination of [this.sqs, this.s3?.notifications]) {
      if (destination) props.pipeline.consume(destination.queue);
    }
    if (this.s3) this.s3.grantGetObject(props.pipeline.consumerFunction);

    const statements = [...(this.sqs?.terraUserStatements() ?? []), ...(this.s3?.terraUserStatements() ?? [])];
    if (statements.length === 0) return;

    this.terraUser = new iam.User(this, 'TerraUser');
    const policy = new iam.Policy(this, 'TerraUserPolicy', { users: [this.terraUser], statements });
    Validations.of(this.terraUser).acknowledge({
      id: 'HIPAA.Security-IAMUserGroupMembership',
      reason:
        "the user exists only to hold the access key entered in Terra's dashboard, for one third party; a group of one " +
        'would add a place where further members could be given the same access',
    });
    const onePolicy =
      "the user's one policy, created and attached here with the user, allows exactly the destination actions " +
      "docs/terra.md §10 names on this stack's queue and bucket; a managed policy could be attached to other principals";
    Validations.of(policy).acknowledge({ id: 'HIPAA.Security-IAMUserNoPolicies', reason: onePolicy });
    Validations.of(policy).acknowledge({ id: 'HIPAA.Security-IAMNoInlinePolicy', reason: onePolicy });
    if (this.s3 && this.s3.terraRoleArn === undefined) {
      Validations.of(policy).acknowledge({
        id: this.s3.allObjectsFinding(),
        reason:
          'Terra chooses every object key (<api version>/<data type>/<user_id>-<start_time>.json, ' +
          '<event type>/…, docs/terra.md §10); only s3:PutObject is allowed, in a bucket that holds nothing else',
      });
    }
  }
}
