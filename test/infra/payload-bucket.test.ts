import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { payloadBucket } from '../../lambdas/shared/definitions';
import { PayloadBucket, type PayloadBucketProps } from '../../lib/constructs/payload-bucket';
import { TerraIngestStack } from '../../lib/terra-ingest-stack';
import { newApp } from '../support/cdk';

const stack = new TerraIngestStack(newApp(), 'TerraIngest');
const template = Template.fromStack(stack);
const bucketId = stack.getLogicalId(stack.payloads.bucket.node.defaultChild as s3.CfnBucket);

/** A stack with only the bucket, for props the full stack does not expose. */
function bucketOnly(props: PayloadBucketProps | ((scratch: Stack) => PayloadBucketProps) = {}): Template {
  const scratch = new Stack(newApp(), 'Scratch');
  new PayloadBucket(scratch, 'Payloads', typeof props === 'function' ? props(scratch) : props);
  return Template.fromStack(scratch);
}

function lifecycleRules(t: Template): Array<Record<string, unknown>> {
  const [bucket] = Object.values(t.findResources('AWS::S3::Bucket'));
  return bucket!.Properties.LifecycleConfiguration.Rules;
}

const rule = (t: Template, prefix: string) => lifecycleRules(t).find((r) => r.Prefix === prefix);

test('the stack holds exactly one bucket', () => {
  template.resourceCountIs('AWS::S3::Bucket', 1);
});

test('blocks all public access', () => {
  template.hasResourceProperties('AWS::S3::Bucket', {
    PublicAccessBlockConfiguration: {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    },
  });
});

test('the bucket owner owns every object, so ACLs are off', () => {
  template.hasResourceProperties('AWS::S3::Bucket', {
    OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
  });
});

test('encrypts objects with S3-managed keys by default', () => {
  template.hasResourceProperties('AWS::S3::Bucket', {
    BucketEncryption: {
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    },
  });
});

test('a customer-managed key can replace the S3-managed one', () => {
  bucketOnly((scratch) => ({ encryptionKey: new kms.Key(scratch, 'Key') })).hasResourceProperties('AWS::S3::Bucket', {
    BucketEncryption: {
      ServerSideEncryptionConfiguration: [
        {
          ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: Match.anyValue() },
          BucketKeyEnabled: true,
        },
      ],
    },
  });
});

test('with a customer-managed key, a grant adds only the key actions the object actions need', () => {
  const scratch = new Stack(newApp(), 'Scratch');
  const key = new kms.Key(scratch, 'Key');
  const payloads = new PayloadBucket(scratch, 'Payloads', { encryptionKey: key });
  const writer = new iam.Role(scratch, 'Writer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  payloads.grantObjects(writer, 'deliveries', 's3:PutObject');
  const statements = Object.values(Template.fromStack(scratch).findResources('AWS::IAM::Policy')).flatMap(
    (policy) => policy.Properties.PolicyDocument.Statement,
  );
  const kmsActions = statements.flatMap((s) => [s.Action].flat()).filter((a: string) => a.startsWith('kms:'));
  expect(kmsActions).toEqual(['kms:GenerateDataKey']);
});

test('refuses requests not made over TLS', () => {
  template.hasResourceProperties('AWS::S3::BucketPolicy', {
    Bucket: { Ref: bucketId },
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({
          Effect: 'Deny',
          Action: 's3:*',
          Principal: { AWS: '*' },
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      ]),
    },
  });
});

test('is not versioned', () => {
  template.hasResourceProperties('AWS::S3::Bucket', { VersioningConfiguration: Match.absent() });
});

test('has a generated name', () => {
  template.hasResourceProperties('AWS::S3::Bucket', { BucketName: Match.absent() });
});

test('expires claim-checked bodies under deliveries/ after the days definitions.ts gives', () => {
  expect(rule(template, payloadBucket.prefixes.deliveries)).toMatchObject({
    Status: 'Enabled',
    ExpirationInDays: payloadBucket.deliveriesRetentionDays,
  });
});

test('expires the archive under archive/ after the days definitions.ts gives, by default', () => {
  expect(rule(template, payloadBucket.prefixes.archive)).toMatchObject({
    Status: 'Enabled',
    ExpirationInDays: payloadBucket.archiveRetentionDays,
  });
});

test('expires the per-user archive index with the archive it names', () => {
  expect(rule(template, payloadBucket.prefixes.archiveIndex)).toMatchObject({
    Status: 'Enabled',
    ExpirationInDays: payloadBucket.archiveRetentionDays,
  });
  const days = payloadBucket.archiveRetentionDays + 7;
  const custom = Template.fromStack(new TerraIngestStack(newApp(), 'TerraIngest', { archiveRetentionDays: days }));
  expect(rule(custom, payloadBucket.prefixes.archiveIndex)).toMatchObject({ ExpirationInDays: days });
});

test('takes the archive retention from the stack prop', () => {
  const days = payloadBucket.archiveRetentionDays + 60;
  const custom = Template.fromStack(new TerraIngestStack(newApp(), 'TerraIngest', { archiveRetentionDays: days }));
  expect(rule(custom, payloadBucket.prefixes.archive)).toMatchObject({ ExpirationInDays: days });
  expect(rule(custom, payloadBucket.prefixes.deliveries)).toMatchObject({
    ExpirationInDays: payloadBucket.deliveriesRetentionDays,
  });
});

test.each([0, -1, 1.5, Number.NaN])('refuses an archive retention of %p days', (days) => {
  expect(() => bucketOnly({ archiveRetentionDays: days })).toThrow(/archiveRetentionDays/);
});

test('never expires large records under records/, which items point at', () => {
  const expiring = lifecycleRules(template).filter((r) => r.ExpirationInDays !== undefined || r.ExpirationDate !== undefined);
  expect(expiring.map((r) => r.Prefix).sort()).toEqual(
    [payloadBucket.prefixes.archive, payloadBucket.prefixes.archiveIndex, payloadBucket.prefixes.deliveries].sort(),
  );
  expect(rule(template, payloadBucket.prefixes.records)).toBeUndefined();
});

test('aborts incomplete multipart uploads after one day', () => {
  expect(lifecycleRules(template)).toContainEqual(
    expect.objectContaining({ Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
  );
});

test('is retained when the stack lets go of it', () => {
  template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
});

test('never deletes objects on its own when the stack is deleted', () => {
  template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
});

test('the removal policy can be relaxed for throw-away stacks', () => {
  bucketOnly({ removalPolicy: RemovalPolicy.DESTROY }).hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
});

test('has no server access logs unless given a log bucket', () => {
  template.hasResourceProperties('AWS::S3::Bucket', { LoggingConfiguration: Match.absent() });
});

test('logs access to the log bucket it is given', () => {
  const scratch = new Stack(newApp(), 'Scratch');
  const logs = new s3.Bucket(scratch, 'Logs');
  new PayloadBucket(scratch, 'Payloads', { serverAccessLogsBucket: logs });
  Template.fromStack(scratch).hasResourceProperties('AWS::S3::Bucket', {
    LoggingConfiguration: {
      DestinationBucketName: { Ref: scratch.getLogicalId(logs.node.defaultChild as s3.CfnBucket) },
      LogFilePrefix: 'terra-ingest-payloads/',
    },
  });
});
