import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { consumerMemoryMb, consumerTimeoutSeconds, defaults, limits, payloadBucket, queueSettings } from '../../lambdas/shared/definitions';
import { TerraIngestStack } from '../../lib/terra-ingest-stack';
import { actionsOf, newApp, type Resources, roleStatements, s3GrantsOf } from '../support/cdk';

const stack = new TerraIngestStack(newApp(), 'TerraIngest');
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Resources;

const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
const queueId = id(stack.pipeline.queue);
const deadLetterQueueId = id(stack.pipeline.deadLetterQueue);
const consumerId = id(stack.pipeline.consumerFunction);
const consumerRoleId = id(stack.pipeline.consumerFunction.role!);
const bucketId = id(stack.payloads.bucket);

const consumerStatements = () => roleStatements(resources, consumerRoleId);
const consumerActions = () => actionsOf(consumerStatements());
const consumerS3Grants = () => s3GrantsOf(consumerStatements());

/** `<bucket ARN>/<suffix>` as the template spells it. */
const objectsArn = (suffix: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${suffix}`]] });

/** Each S3 action the consumer may take, paired with each resource it may take it on. */

describe('queues', () => {
  test('both are encrypted with SQS-managed keys', () => {
    for (const logicalId of [queueId, deadLetterQueueId]) {
      expect(resources[logicalId]!.Properties.SqsManagedSseEnabled).toBe(true);
    }
  });

  test('the queue hands a message to the dead-letter queue after maxReceiveCount receives', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [deadLetterQueueId, 'Arn'] },
        maxReceiveCount: queueSettings.maxReceiveCount,
      },
    });
  });

  test('both keep messages for 14 days', () => {
    for (const logicalId of [queueId, deadLetterQueueId]) {
      expect(resources[logicalId]!.Properties.MessageRetentionPeriod).toBe(1209600);
    }
  });

  test('the visibility timeout is the one definitions.ts derives', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: Match.anyValue(),
      VisibilityTimeout: queueSettings.visibilityTimeoutSeconds,
    });
  });

  test('both accept messages up to limits.sqsMessageBytes, the largest SQS allows', () => {
    for (const logicalId of [queueId, deadLetterQueueId]) {
      expect(resources[logicalId]!.Properties.MaximumMessageSize).toBe(limits.sqsMessageBytes);
    }
    // The largest SQS allows, as CDK's own range check (SQS's 1,024 to 1,048,576 bytes) knows it.
    const queueOf = (bytes: number) => () => new Queue(new Stack(newApp()), 'Queue', { maxMessageSizeBytes: bytes });
    expect(queueOf(limits.sqsMessageBytes)).not.toThrow();
    expect(queueOf(limits.sqsMessageBytes + 1)).toThrow(/maximum message size/);
  });

  test('the visibility timeout is at least six times the timeout of the function consuming the queue', () => {
    const mapping = Object.values(resources).find((r) => r.Type === 'AWS::Lambda::EventSourceMapping')!;
    const queue = resources[mapping.Properties.EventSourceArn['Fn::GetAtt'][0]]!;
    const consumer = resources[mapping.Properties.FunctionName.Ref]!;
    expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * consumer.Properties.Timeout);
  });

  test.each([
    ['queue', queueId],
    ['dead-letter queue', deadLetterQueueId],
  ])('the %s refuses requests not made over TLS', (_name, logicalId) => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: logicalId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });
});

describe('consumer', () => {
  test('reads the queue in batches and reports failed items one by one', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      FunctionName: { Ref: consumerId },
      BatchSize: queueSettings.batchSize,
      MaximumBatchingWindowInSeconds: queueSettings.maxBatchingWindowSeconds,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  test('runs with the timeout and memory definitions.ts gives (room for a Ping-mode payload)', () => {
    expect(resources[consumerId]!.Properties).toMatchObject({ Timeout: consumerTimeoutSeconds, MemorySize: consumerMemoryMb });
  });

  test('knows the three tables and the payload bucket by name, and its Powertools service and namespace', () => {
    expect(resources[consumerId]!.Properties.Environment.Variables).toEqual({
      DATA_TABLE: { Ref: id(stack.storage.dataTable) },
      USERS_TABLE: { Ref: id(stack.storage.usersTable) },
      EVENTS_TABLE: { Ref: id(stack.storage.eventsTable) },
      PAYLOAD_BUCKET: { Ref: bucketId },
      POWERTOOLS_SERVICE_NAME: 'terra-ingest-consumer',
      POWERTOOLS_METRICS_NAMESPACE: 'TerraIngest',
      RECORD_MAP_MAX_BYTES: String(defaults.recordMapMaxBytes),
    });
  });

  test.each([
    ['data', ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']],
    ['users', ['dynamodb:UpdateItem']],
    ['events', ['dynamodb:PutItem', 'dynamodb:UpdateItem']],
  ] as const)('may make exactly the item calls it needs on the %s table', (name, actions) => {
    const table = { data: stack.storage.dataTable, users: stack.storage.usersTable, events: stack.storage.eventsTable }[name];
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: consumerRoleId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: actions.length === 1 ? actions[0] : [...actions],
            // The table alone: no function queries an index, so `<table>/index/*` is not granted.
            Resource: { 'Fn::GetAtt': [id(table), 'Arn'] },
          }),
        ]),
      },
    });
  });

  test('has no DynamoDB permission beyond GetItem, PutItem and UpdateItem', () => {
    const dynamoDbActions = [...new Set(consumerActions().filter((action) => action.startsWith('dynamodb:')))];
    expect(dynamoDbActions.sort()).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    expect(dynamoDbActions).not.toContain('dynamodb:*');
    expect(dynamoDbActions).not.toContain('dynamodb:Scan');
    expect(dynamoDbActions).not.toContain('dynamodb:DeleteItem');
  });

  test('may not send to the queue or read secrets', () => {
    expect(consumerActions()).not.toContain('sqs:SendMessage');
    expect(consumerActions().filter((action) => action.startsWith('secretsmanager:'))).toEqual([]);
  });

  test('may read claim-checked bodies and the archive, write the archive, its index and large records, and read and delete those records, nothing more', () => {
    const { deliveries, archive, records, events, archiveIndex } = payloadBucket.prefixes;
    const expected = [
      ['s3:GetObject', deliveries],
      ['s3:GetObject', archive],
      ['s3:PutObject', archive],
      ['s3:AbortMultipartUpload', archive],
      ['s3:PutObject', archiveIndex],
      ['s3:PutObject', records],
      ['s3:GetObject', records],
      ['s3:DeleteObject', records],
      ['s3:AbortMultipartUpload', records],
      ['s3:PutObject', events],
      ['s3:AbortMultipartUpload', events],
    ].map(([action, prefix]) => `${action} ${JSON.stringify(objectsArn(`${prefix}*`))}`);
    expect(consumerS3Grants().sort()).toEqual(expected.sort());
  });

  test('has no S3 wildcard action and no bucket-wide object grant', () => {
    expect(consumerActions()).not.toContain('s3:*');
    expect(consumerS3Grants().filter((grant) => grant.includes('"/*"'))).toEqual([]);
  });

  test('writes its logs to its own log group, kept for a month', () => {
    const logGroupRef = resources[consumerId]!.Properties.LoggingConfig.LogGroup.Ref;
    expect(resources[logGroupRef]).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } });
  });
});
