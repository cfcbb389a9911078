import { CfnWaitConditionHandle, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { destinations } from '../../lambdas/shared/definitions';
import { TerraIngestStack, type TerraIngestStackProps } from '../../lib/terra-ingest-stack';
import { newApp, type Resources, roleStatements, type Statement } from '../support/cdk';

const everything: TerraIngestStackProps = { sqsDestination: true, s3Destination: true, eraseOnDeauth: true };

function synth(props: TerraIngestStackProps) {
  const app = newApp();
  const stack = new TerraIngestStack(app, 'TerraIngest', props);
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Resources;
  const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  return { app, stack, template, resources, id, ofType };
}

const cmk = synth({ ...everything, customerManagedKey: true });
const keyId = cmk.id(cmk.stack.encryptionKey as kms.Key);
const keyArn = { 'Fn::GetAtt': [keyId, 'Arn'] };
const key = () => cmk.resources[keyId]!;
const keyPolicy = (): unknown[] => key().Properties.KeyPolicy.Statement;

/** The kms: statements of a role's or a user's policies. */
const kmsStatements = (statements: Statement[]) => statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('kms:')));
const roleKmsStatements = (fn: { role?: { node: { defaultChild?: unknown } } }) =>
  kmsStatements(roleStatements(cmk.resources, cmk.id(fn.role!)));
const viaService = (service: string) => ({
  StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', [`${service}.`, { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
});

describe('with customerManagedKey: true', () => {
  test('the stack creates one key, which rotates', () => {
    cmk.template.resourceCountIs('AWS::KMS::Key', 1);
    expect(key().Properties.EnableKeyRotation).toBe(true);
  });

  test('the key outlives the stack, as the data it encrypts does', () => {
    expect(key()).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  test('the key has an alias named after the stack', () => {
    cmk.template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/TerraIngest', TargetKeyId: keyArn });
  });

  test('the stack outputs the key ARN as EncryptionKeyArn', () => {
    cmk.template.hasOutput('EncryptionKeyArn', { Value: keyArn });
  });

  test.each([
    ['data', () => cmk.stack.storage.dataTable],
    ['users', () => cmk.stack.storage.usersTable],
    ['events', () => cmk.stack.storage.eventsTable],
  ] as const)('the %s table is encrypted with the key', (_name, table) => {
    expect(cmk.resources[cmk.id(table())]!.Properties.SSESpecification).toEqual({
      SSEEnabled: true,
      SSEType: 'KMS',
      KMSMasterKeyId: keyArn,
    });
  });

  test('the stack holds eight queues (four and their dead-letter queues)', () => {
    expect(cmk.ofType('AWS::SQS::Queue')).toHaveLength(8);
  });

  test.each([
    ['pipeline queue', () => cmk.stack.pipeline.queue],
    ['pipeline dead-letter queue', () => cmk.stack.pipeline.deadLetterQueue],
    ['SQS destination queue', () => cmk.stack.destinations!.sqs!.queue],
    ['SQS destination dead-letter queue', () => cmk.stack.destinations!.sqs!.deadLetterQueue],
    ['S3 destination events queue', () => cmk.stack.destinations!.s3!.notifications.queue],
    ['S3 destination events dead-letter queue', () => cmk.stack.destinations!.s3!.notifications.deadLetterQueue],
    ['erasure queue', () => cmk.stack.eraseOnDeauth!.queue],
    ['erasure dead-letter queue', () => cmk.stack.eraseOnDeauth!.deadLetterQueue],
  ] as const)('the %s is encrypted with the key, not SQS-managed keys', (_name, queue) => {
    const properties = cmk.resources[cmk.id(queue())]!.Properties;
    expect(properties.KmsMasterKeyId).toEqual(keyArn);
    expect(properties.SqsManagedSseEnabled).toBeUndefined();
  });

  test('every log group, API access logs included, is encrypted with the key', () => {
    const logGroups = cmk.ofType('AWS::Logs::LogGroup');
    const functions = [cmk.stack.webhook.ingestFunction, cmk.stack.pipeline.consumerFunction, cmk.stack.eraseOnDeauth!.eraserFunction];
    const functionLogGroups = functions.map((fn) => cmk.resources[cmk.id(fn)]!.Properties.LoggingConfig.LogGroup.Ref);
    expect(logGroups.map(([id]) => id).sort()).toEqual([cmk.id(cmk.stack.webhook.accessLogs), ...functionLogGroups].sort());
    for (const [, logGroup] of logGroups) expect(logGroup.Properties.KmsKeyId).toEqual(keyArn);
  });

  test.each([
    ['payload bucket', () => cmk.stack.payloads.bucket],
    ['S3 destination bucket', () => cmk.stack.destinations!.s3!.bucket],
  ] as const)('the %s encrypts objects with the key, with an S3 bucket key', (_name, bucket) => {
    expect(cmk.resources[cmk.id(bucket())]!.Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [
        { BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn } },
      ],
    });
  });

  test.each([
    ['signing secret', () => cmk.stack.webhook.signingSecret],
    ['Terra API credentials', () => cmk.stack.apiCredentials],
  ] as const)('the %s is encrypted with the key', (_name, secret) => {
    expect(cmk.resources[cmk.id(secret())]!.Properties.KmsKeyId).toEqual(keyArn);
  });

  test('the key policy lets CloudWatch Logs use it, for log groups of this account and region only', () => {
    expect(keyPolicy()).toContainEqual(
      expect.objectContaining({
        Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
        Action: expect.arrayContaining(['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey']),
        Condition: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': {
              'Fn::Join': [
                '',
                ['arn:', { Ref: 'AWS::Partition' }, ':logs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':log-group:*'],
              ],
            },
          },
        },
      }),
    );
  });

  test('the key policy lets S3 encrypt its notifications into the events queue: GenerateDataKey and Decrypt', () => {
    expect(keyPolicy()).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 's3.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      }),
    );
  });

  test('the key policy names no function role: their use of the key is in their own policies', () => {
    const roleIds = cmk.ofType('AWS::IAM::Role').map(([id]) => id);
    const named = JSON.stringify(keyPolicy());
    expect(roleIds.filter((roleId) => named.includes(roleId))).toEqual([]);
  });

  test('the ingest function may encrypt messages for the queue and objects for the bucket (GenerateDataKey, Decrypt), and decrypt the secret through Secrets Manager', () => {
    expect(roleKmsStatements(cmk.stack.webhook.ingestFunction)).toEqual([
      { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: keyArn },
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: keyArn, Condition: viaService('secretsmanager') },
    ]);
  });

  test('the consumer may decrypt what it reads and encrypt what it writes (tables, bucket, erasure queue), with no wildcard key action', () => {
    expect(roleKmsStatements(cmk.stack.pipeline.consumerFunction)).toEqual([
      { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'], Resource: keyArn },
    ]);
  });

  test('the eraser may use the key for the tables, its queue and the bucket objects it reads, with no wildcard key action', () => {
    expect(roleKmsStatements(cmk.stack.eraseOnDeauth!.eraserFunction)).toEqual([
      { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'], Resource: keyArn },
    ]);
  });

  test("Terra's IAM user may use the key through SQS and S3 only, as a producer (GenerateDataKey, Decrypt)", () => {
    const [policy] = cmk.ofType('AWS::IAM::Policy').filter(([, p]) => p.Properties.Users);
    expect(kmsStatements(policy![1].Properties.PolicyDocument.Statement)).toEqual([
      { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: keyArn, Condition: viaService('sqs') },
      { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: keyArn, Condition: viaService('s3') },
    ]);
  });
});

describe("with customerManagedKey and Terra's role for the S3 destination", () => {
  const role = synth({ s3Destination: { terraRoleArn: destinations.bucket.terraRoleArn }, customerManagedKey: true });

  test("the destination bucket stays on SSE-S3: Terra's role, in Terra's account, cannot be given the key", () => {
    expect(role.resources[role.id(role.stack.destinations!.s3!.bucket)]!.Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
  });

  test('the notification queues still use the key', () => {
    expect(role.resources[role.id(role.stack.destinations!.s3!.notifications.queue)]!.Properties.KmsMasterKeyId).toBeDefined();
  });
});

describe('without customerManagedKey (the default)', () => {
  const off = synth(everything);

  test('the stack has no KMS key and outputs none', () => {
    off.template.resourceCountIs('AWS::KMS::Key', 0);
    expect(off.template.toJSON().Outputs.EncryptionKeyArn).toBeUndefined();
    expect(off.stack.encryptionKey).toBeUndefined();
  });

  test('no policy allows a kms: action', () => {
    const policies = [...off.ofType('AWS::IAM::Policy'), ...off.ofType('AWS::SQS::QueuePolicy'), ...off.ofType('AWS::S3::BucketPolicy')];
    expect(JSON.stringify(policies)).not.toContain('kms:');
  });

  test('tables use the AWS-managed key, queues SSE-SQS, secrets and log groups their defaults', () => {
    off.template.allResourcesProperties('AWS::DynamoDB::Table', { SSESpecification: { SSEEnabled: true } });
    off.template.allResourcesProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, KmsMasterKeyId: Match.absent() });
    off.template.allResourcesProperties('AWS::SecretsManager::Secret', { KmsKeyId: Match.absent() });
    off.template.allResourcesProperties('AWS::Logs::LogGroup', { KmsKeyId: Match.absent() });
  });
});

describe('with a key of your own', () => {
  const app = newApp();
  // A stack to import the key into, as an operator's own code would; CloudFormation refuses an empty one.
  const keys = new Stack(app, 'Keys');
  new CfnWaitConditionHandle(keys, 'Placeholder');
  const own = kms.Key.fromKeyArn(keys, 'Own', 'arn:aws:kms:eu-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab');
  const stack = new TerraIngestStack(app, 'TerraIngest', { s3Destination: true, customerManagedKey: own });
  // Synth prints the warnings asserted below; kept out of the test output.
  const printed = console.error;
  console.error = () => {};
  const template = Template.fromStack(stack);
  const warnings = Annotations.fromStack(keys).findWarning('*', Match.stringLikeRegexp('key policy of an imported key'));
  console.error = printed;

  test('the stack creates no key and encrypts with the one given', () => {
    template.resourceCountIs('AWS::KMS::Key', 0);
    template.allResourcesProperties('AWS::DynamoDB::Table', { SSESpecification: { KMSMasterKeyId: own.keyArn } });
    template.allResourcesProperties('AWS::SQS::Queue', { KmsMasterKeyId: own.keyArn });
  });

  test('synth warns that its policy must let CloudWatch Logs and S3 use it', () => {
    const text = JSON.stringify(warnings);
    expect(text).toContain('logs.');
    expect(text).toContain('s3.amazonaws.com');
  });
});
