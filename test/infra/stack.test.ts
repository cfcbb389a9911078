import { Match, Template } from 'aws-cdk-lib/assertions';
import { TerraIngestStack } from '../../lib/terra-ingest-stack';
import { newApp } from '../support/cdk';

const app = newApp();
const stack = new TerraIngestStack(app, 'TerraIngest');
const template = Template.fromStack(stack);

const outputNames = [
  'WebhookUrl',
  'DataTableName',
  'UsersTableName',
  'EventsTableName',
  'SigningSecretName',
  'QueueUrl',
  'DeadLetterQueueUrl',
  'PayloadBucketName',
  'ApiCredentialsSecretName',
  'AlarmTopicArn',
];

test.each(outputNames)('outputs %s', (name) => {
  template.hasOutput(name, { Value: Match.anyValue() });
});

test('outputs nothing else', () => {
  expect(Object.keys(template.toJSON().Outputs).sort()).toEqual([...outputNames].sort());
});

test('outputs the payload bucket by name', () => {
  template.hasOutput('PayloadBucketName', {
    Value: { Ref: stack.getLogicalId(stack.payloads.bucket.node.defaultChild as never) },
  });
});

test('creates the Terra REST API credentials secret without a value, for the operator to fill, and no function reads it', () => {
  const credentials = stack.getLogicalId(stack.apiCredentials.node.defaultChild as never);
  template.hasResourceProperties('AWS::SecretsManager::Secret', {
    Description: Match.stringLikeRegexp('Terra REST API credentials'),
    SecretString: Match.absent(),
    GenerateSecretString: Match.absent(),
  });
  expect(JSON.stringify(template.toJSON().Outputs.ApiCredentialsSecretName.Value)).toContain(credentials);
  const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
  expect(policies).not.toContain(credentials);
});

test('every function knows the payload bucket by name', () => {
  template.allResourcesProperties('AWS::Lambda::Function', {
    Environment: {
      Variables: Match.objectLike({
        PAYLOAD_BUCKET: { Ref: stack.getLogicalId(stack.payloads.bucket.node.defaultChild as never) },
      }),
    },
  });
});

test('has exactly two functions', () => {
  template.resourceCountIs('AWS::Lambda::Function', 2);
});

test('every function runs Node 24 on arm64', () => {
  template.allResourcesProperties('AWS::Lambda::Function', { Runtime: 'nodejs24.x', Architectures: ['arm64'] });
});

test('every function logs to its own log group, without --enable-source-maps (it costs every cold start; lambda-bundle.ts)', () => {
  template.allResourcesProperties('AWS::Lambda::Function', {
    LoggingConfig: { LogGroup: { Ref: Match.anyValue() } },
    Environment: { Variables: Match.objectLike({ NODE_OPTIONS: Match.absent() }) },
  });
});

test('no role carries an AWS-managed policy', () => {
  template.allResourcesProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
});

test('no log group keeps logs forever', () => {
  template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: Match.anyValue() });
});
