import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { destinations, limits, queueSettings } from '../../lambdas/shared/definitions';
import { TerraS3Destination } from '../../lib/constructs/s3-destination';
import { TerraIngestStack, type TerraIngestStackProps } from '../../lib/terra-ingest-stack';
import { newApp, type Resources, roleStatements, s3GrantsOf, type Statement } from '../support/cdk';

/** One synthesized variant of the stack, with the logical IDs its tests look for. */
function variant(props: TerraIngestStackProps) {
  const app = newApp();
  const stack = new TerraIngestStack(app, 'TerraIngest', props);
  const template = Template.fromStack(stack);
  const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  const { sqs, s3, terraUser } = stack.destinations ?? {};
  return {
    app,
    stack,
    template,
    resources: template.toJSON().Resources as Resources,
    outputs: template.toJSON().Outputs as Record<string, { Value: unknown; Description: string }>,
    consumerId: id(stack.pipeline.consumerFunction),
    consumerRoleId: id(stack.pipeline.consumerFunction.role!),
    queueId: sqs && id(sqs.queue),
    deadLetterQueueId: sqs && id(sqs.deadLetterQueue),
    bucketId: s3 && id(s3.bucket),
    eventsQueueId: s3 && id(s3.notifications.queue),
    eventsDeadLetterQueueId: s3 && id(s3.notifications.deadLetterQueue),
    userId: terraUser && id(terraUser),
  };
}

const terraRoleArn = destinations.bucket.terraRoleArn;
const defaults = variant({});
const both = variant({ sqsDestination: true, s3Destination: true });
const sqsOnly = variant({ sqsDestination: true });
const s3Only = variant({ s3Destination: true });
const roleOnly = variant({ s3Destination: { terraRoleArn } });
const sqsAndRole = variant({ sqsDestination: true, s3Destination: { terraRoleArn } });
const variants = { defaults, both, sqsOnly, s3Only, roleOnly, sqsAndRole };

const arnOf = (logicalId: string | undefined) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });
/** `<bucket ARN>/*` as the template spells it. */
const allObjectsOf = (bucketId: string | undefined) => ({ 'Fn::Join': ['', [arnOf(bucketId), '/*']] });

/** Every statement allowed to an IAM user, from all the policies attached to it. */
function userStatements(resources: Resources, userId: string): Statement[] {
  return Object.values(resources)
    .filter((resource) => resource.Type === 'AWS::IAM::Policy')
    .filter((resource) => (resource.Properties.Users ?? []).some((user: { Ref?: string }) => user.Ref === userId))
    .flatMap((resource) => resource.Properties.PolicyDocument.Statement);
}

const consumerStatements = (v: { resources: Resources; consumerRoleId: string }) => roleStatements(v.resources, v.consumerRoleId);

/** Statements with their actions as a sorted list, so that the order CDK writes them in does not matter. */
const normalized = (statements: Statement[]) => statements.map((statement) => ({ ...statement, Action: [statement.Action].flat().sort() }));

const tlsOnly = {
  PolicyDocument: {
    Statement: Match.arrayWith([
      Match.objectLike({ Effect: 'Deny', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    ]),
  },
};

describe('by default', () => {
  test('creates no destination, no IAM user and no bucket notifications', () => {
    expect(defaults.stack.destinations).toBeUndefined();
    defaults.template.resourceCountIs('AWS::IAM::User', 0);
    defaults.template.resourceCountIs('Custom::S3BucketNotifications', 0);
    defaults.template.resourceCountIs('AWS::S3::Bucket', 1);
    defaults.template.resourceCountIs('AWS::SQS::Queue', 2);
    defaults.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
  });

  test('outputs nothing about destinations', () => {
    expect(Object.keys(defaults.outputs).filter((name) => name.startsWith('Destination'))).toEqual([]);
  });
});

describe('SQS destination', () => {
  const { template, resources, queueId, deadLetterQueueId } = sqsOnly;

  test('is a queue handing a message to its own dead-letter queue after maxReceiveCount receives', () => {
    expect(resources[queueId!]!.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: arnOf(deadLetterQueueId),
      maxReceiveCount: queueSettings.maxReceiveCount,
    });
  });

  test('has the visibility timeout of the pipeline queue', () => {
    expect(resources[queueId!]!.Properties.VisibilityTimeout).toBe(queueSettings.visibilityTimeoutSeconds);
  });

  test.each([
    ['queue', queueId],
    ['dead-letter queue', deadLetterQueueId],
  ])('the %s is encrypted with SQS-managed keys, not KMS, and takes limits.sqsMessageBytes', (_name, logicalId) => {
    expect(resources[logicalId!]!.Properties).toMatchObject({ SqsManagedSseEnabled: true, MaximumMessageSize: limits.sqsMessageBytes });
    expect(resources[logicalId!]!.Properties.KmsMasterKeyId).toBeUndefined();
  });

  test.each([
    ['queue', queueId],
    ['dead-letter queue', deadLetterQueueId],
  ])('the %s refuses requests not made over TLS', (_name, logicalId) => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', { Queues: [{ Ref: logicalId }], ...tlsOnly });
  });

  test('its queue policy allows nobody: Terra comes in with the IAM user key', () => {
    const [policy] = Object.values(template.findResources('AWS::SQS::QueuePolicy', { Properties: { Queues: [{ Ref: queueId }] } }));
    expect(policy!.Properties.PolicyDocument.Statement.filter((s: { Effect: string }) => s.Effect === 'Allow')).toEqual([]);
  });

  test('the consumer reads it in batches like the pipeline queue and reports failed items one by one', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: arnOf(queueId),
      FunctionName: { Ref: sqsOnly.consumerId },
      BatchSize: queueSettings.batchSize,
      MaximumBatchingWindowInSeconds: queueSettings.maxBatchingWindowSeconds,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  test('creates no bucket and no bucket notifications', () => {
    template.resourceCountIs('AWS::S3::Bucket', 1);
    template.resourceCountIs('Custom::S3BucketNotifications', 0);
  });
});

describe('S3 destination', () => {
  const { template, resources, bucketId, eventsQueueId, eventsDeadLetterQueueId } = s3Only;
  const bucket = () => resources[bucketId!]!;

  test('blocks all public access and owns every object, Terra-written ones included (ACLs off)', () => {
    expect(bucket().Properties).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
  });

  test('encrypts objects with S3-managed keys', () => {
    expect(bucket().Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
  });

  test('keeps versions, so an event whose key a later event overwrote can still be read', () => {
    expect(bucket().Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
  });

  test('expires objects and replaced versions after destinations.bucket.retentionDays and aborts incomplete uploads after a day', () => {
    expect(bucket().Properties.LifecycleConfiguration.Rules).toEqual([
      {
        Id: 'expire-terra-objects',
        Status: 'Enabled',
        ExpirationInDays: destinations.bucket.retentionDays,
        NoncurrentVersionExpiration: { NoncurrentDays: destinations.bucket.retentionDays },
      },
      { Id: 'abort-incomplete-uploads', Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
    ]);
  });

  test('refuses requests not made over TLS', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', { Bucket: { Ref: bucketId }, ...tlsOnly });
  });

  test('outlives the stack by default', () => {
    expect(bucket()).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  test("follows the stack's removalPolicy", () => {
    const scratch = new Stack(newApp(), 'Scratch');
    new TerraS3Destination(scratch, 'S3', { removalPolicy: RemovalPolicy.DESTROY });
    Template.fromStack(scratch).hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
  });

  test('notifies the events queue of every object created', () => {
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: bucketId },
      NotificationConfiguration: { QueueConfigurations: [{ Events: ['s3:ObjectCreated:*'], QueueArn: arnOf(eventsQueueId) }] },
    });
  });

  test('only S3, on behalf of this bucket, may send to the events queue', () => {
    const [policy] = Object.values(template.findResources('AWS::SQS::QueuePolicy', { Properties: { Queues: [{ Ref: eventsQueueId }] } }));
    const allowed = policy!.Properties.PolicyDocument.Statement.filter((s: { Effect: string }) => s.Effect === 'Allow');
    expect(allowed).toEqual([
      expect.objectContaining({
        Principal: { Service: 's3.amazonaws.com' },
        Condition: { ArnLike: { 'aws:SourceArn': arnOf(bucketId) } },
        Resource: arnOf(eventsQueueId),
      }),
    ]);
  });

  test('the events queue hands a message to its own dead-letter queue, with the pipeline queue settings', () => {
    expect(resources[eventsQueueId!]!.Properties).toMatchObject({
      RedrivePolicy: { deadLetterTargetArn: arnOf(eventsDeadLetterQueueId), maxReceiveCount: queueSettings.maxReceiveCount },
      VisibilityTimeout: queueSettings.visibilityTimeoutSeconds,
    });
  });

  test.each([
    ['events queue', eventsQueueId],
    ['events dead-letter queue', eventsDeadLetterQueueId],
  ])('the %s is encrypted with SQS-managed keys (S3 cannot notify a queue under the AWS-managed KMS key)', (_name, logicalId) => {
    expect(resources[logicalId!]!.Properties).toMatchObject({ SqsManagedSseEnabled: true, MaximumMessageSize: limits.sqsMessageBytes });
    expect(resources[logicalId!]!.Properties.KmsMasterKeyId).toBeUndefined();
  });

  test.each([
    ['events queue', eventsQueueId],
    ['events dead-letter queue', eventsDeadLetterQueueId],
  ])('the %s refuses requests not made over TLS', (_name, logicalId) => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', { Queues: [{ Ref: logicalId }], ...tlsOnly });
  });

  test('the consumer reads the events queue in batches like the pipeline queue and reports failed items one by one', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: arnOf(eventsQueueId),
      FunctionName: { Ref: s3Only.consumerId },
      BatchSize: queueSettings.batchSize,
      MaximumBatchingWindowInSeconds: queueSettings.maxBatchingWindowSeconds,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  test('the consumer may get any object in the bucket, in any version, and list it (to tell a missing FIT file by 404), and do nothing else with it', () => {
    const onBucket = s3GrantsOf(consumerStatements(s3Only)).filter((grant) => grant.includes(`"${bucketId}"`));
    expect(onBucket.sort()).toEqual(
      [
        `s3:GetObject ${JSON.stringify(allObjectsOf(bucketId))}`,
        `s3:GetObjectVersion ${JSON.stringify(allObjectsOf(bucketId))}`,
        `s3:ListBucket ${JSON.stringify(arnOf(bucketId))}`,
      ].sort(),
    );
  });

  test('rejects a terraRoleArn that is not an IAM role ARN', () => {
    expect(() => new TerraS3Destination(new Stack(newApp(), 'Scratch'), 'S3', { terraRoleArn: 'EC2_Instance_Perms' })).toThrow(
      /terraRoleArn must be an IAM role ARN/,
    );
  });
});

describe('the consumer', () => {
  test.each(Object.entries(variants))('may change the visibility of messages on every queue it reads (%s)', (_name, v) => {
    const mappings = Object.values(v.resources).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping');
    const statements = consumerStatements(v);
    for (const mapping of mappings) {
      const queueArn = mapping.Properties.EventSourceArn;
      const granted = statements.some(
        (s) =>
          [s.Action].flat().includes('sqs:ChangeMessageVisibility') &&
          [s.Resource].flat().some((r) => JSON.stringify(r) === JSON.stringify(queueArn)),
      );
      expect({ queueArn, granted }).toEqual({ queueArn, granted: true });
    }
  });

  test('reads the pipeline queue and both destination queues, each hiding a message for at least six times its timeout', () => {
    const mappings = Object.values(both.resources).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping');
    expect(mappings.map((m) => m.Properties.EventSourceArn['Fn::GetAtt'][0]).sort()).toEqual(
      [both.stack.getLogicalId(both.stack.pipeline.queue.node.defaultChild as never), both.queueId, both.eventsQueueId].sort(),
    );
    const timeout = both.resources[both.consumerId]!.Properties.Timeout;
    for (const mapping of mappings) {
      expect(both.resources[mapping.Properties.EventSourceArn['Fn::GetAtt'][0]]!.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(
        6 * timeout,
      );
    }
  });
});

describe("Terra's IAM user", () => {
  const queueStatement = (v: typeof both) => ({
    Effect: 'Allow',
    Action: [...destinations.queue.terraActions].sort(),
    Resource: arnOf(v.queueId),
  });
  const bucketStatement = (v: typeof both) => ({
    Effect: 'Allow',
    Action: [...destinations.bucket.terraUserActions].sort(),
    Resource: allObjectsOf(v.bucketId),
  });

  test('with both destinations, one user may send to the queue and put objects into the bucket, nothing more', () => {
    both.template.resourceCountIs('AWS::IAM::User', 1);
    expect(normalized(userStatements(both.resources, both.userId!))).toEqual([queueStatement(both), bucketStatement(both)]);
  });

  test('with the SQS destination only, it may send to the queue, nothing more', () => {
    expect(normalized(userStatements(sqsOnly.resources, sqsOnly.userId!))).toEqual([queueStatement(sqsOnly)]);
  });

  test('with the S3 destination only, it may put objects into the bucket, nothing more', () => {
    expect(normalized(userStatements(s3Only.resources, s3Only.userId!))).toEqual([bucketStatement(s3Only)]);
  });

  test('has no group, managed policy, login profile or fixed name', () => {
    expect(both.resources[both.userId!]!.Properties).toBeUndefined();
    both.template.resourceCountIs('AWS::IAM::UserToGroupAddition', 0);
  });

  test("is not created when a bucket policy lets Terra's role into the S3 destination", () => {
    expect(roleOnly.userId).toBeUndefined();
    roleOnly.template.resourceCountIs('AWS::IAM::User', 0);
  });

  test("beside Terra's role for S3, it may only send to the SQS destination", () => {
    expect(normalized(userStatements(sqsAndRole.resources, sqsAndRole.userId!))).toEqual([queueStatement(sqsAndRole)]);
  });
});

describe("Terra's role (terraRoleArn)", () => {
  test('the bucket policy allows it terraRoleActions on every object, and allows nobody else', () => {
    const [policy] = Object.values(
      roleOnly.template.findResources('AWS::S3::BucketPolicy', { Properties: { Bucket: { Ref: roleOnly.bucketId } } }),
    );
    const allowed = policy!.Properties.PolicyDocument.Statement.filter((s: { Effect: string }) => s.Effect === 'Allow');
    expect(normalized(allowed)).toEqual([
      {
        Effect: 'Allow',
        Principal: { AWS: terraRoleArn },
        Action: [...destinations.bucket.terraRoleActions].sort(),
        Resource: allObjectsOf(roleOnly.bucketId),
      },
    ]);
  });

  test('without it the bucket policy allows nobody', () => {
    const [policy] = Object.values(
      s3Only.template.findResources('AWS::S3::BucketPolicy', { Properties: { Bucket: { Ref: s3Only.bucketId } } }),
    );
    expect(policy!.Properties.PolicyDocument.Statement.filter((s: { Effect: string }) => s.Effect === 'Allow')).toEqual([]);
  });
});

describe('secrets', () => {
  test.each(Object.entries(variants))('no access key is created (%s)', (_name, v) => {
    v.template.resourceCountIs('AWS::IAM::AccessKey', 0);
  });

  test.each(Object.entries(variants))('no secret access key or access key id is in the template (%s)', (_name, v) => {
    const text = JSON.stringify(v.template.toJSON());
    expect(text).not.toContain('SecretAccessKey');
    expect(text).not.toMatch(/\b(AKIA|ASIA)[A-Z0-9]{16}\b/);
  });
});

describe('outputs', () => {
  test.each([
    ['DestinationQueueUrl', () => both.queueId],
    ['DestinationDeadLetterQueueUrl', () => both.deadLetterQueueId],
    ['DestinationBucketName', () => both.bucketId],
    ['DestinationEventsDeadLetterQueueUrl', () => both.eventsDeadLetterQueueId],
    ['DestinationUserName', () => both.userId],
  ])('outputs %s', (name, logicalId) => {
    both.template.hasOutput(name, { Value: { Ref: logicalId() }, Description: Match.stringLikeRegexp('.') });
  });

  test('the user output gives the command that creates its access key', () => {
    expect(both.outputs.DestinationUserName!.Description).toContain('aws iam create-access-key --user-name');
  });

  test('outputs only what exists: no user, queue or queue dead-letter output for a role-only S3 destination', () => {
    expect(
      Object.keys(roleOnly.outputs)
        .filter((name) => name.startsWith('Destination'))
        .sort(),
    ).toEqual(['DestinationBucketName', 'DestinationEventsDeadLetterQueueUrl']);
  });
});
