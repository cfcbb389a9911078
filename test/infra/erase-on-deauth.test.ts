import { Template } from 'aws-cdk-lib/assertions';
import { erasure, payloadBucket } from '../../lambdas/shared/definitions';
import { TerraIngestStack } from '../../lib/terra-ingest-stack';
import { actionsOf, newApp, type Resources, roleStatements, s3GrantsOf } from '../support/cdk';

const stack = new TerraIngestStack(newApp(), 'TerraIngest', { eraseOnDeauth: true });
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Resources;
const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);

const eraseOnDeauth = stack.eraseOnDeauth!;
const eraserId = id(eraseOnDeauth.eraserFunction);
const eraserStatements = () => roleStatements(resources, id(eraseOnDeauth.eraserFunction.role!));
const consumerStatements = () => roleStatements(resources, id(stack.pipeline.consumerFunction.role!));
const queueArn = { 'Fn::GetAtt': [id(eraseOnDeauth.queue), 'Arn'] };
const bucketArn = { 'Fn::GetAtt': [id(stack.payloads.bucket), 'Arn'] };
const objectsArn = (prefix: string) => JSON.stringify({ 'Fn::Join': ['', [bucketArn, `/${prefix}*`]] });

test('is off by default: no eraser, and the consumer has no erasure queue', () => {
  const plain = new TerraIngestStack(newApp(), 'TerraIngest');
  expect(plain.eraseOnDeauth).toBeUndefined();
  const functions = Object.values(Template.fromStack(plain).findResources('AWS::Lambda::Function'));
  expect(functions.map((fn) => fn.Properties.Environment?.Variables?.ERASE_QUEUE_URL).filter(Boolean)).toEqual([]);
});

test('the consumer may send to the erasure queue, and is told its URL', () => {
  const sends = consumerStatements().filter((statement) => actionsOf([statement]).includes('sqs:SendMessage'));
  expect(sends.map((statement) => statement.Resource)).toEqual([queueArn]);
  template.hasResourceProperties('AWS::Lambda::Function', {
    Environment: { Variables: { ERASE_QUEUE_URL: { Ref: id(eraseOnDeauth.queue) } } },
  });
});

test('the eraser reads the erasure queue and reports each failed user on its own', () => {
  template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    EventSourceArn: queueArn,
    FunctionName: { Ref: eraserId },
    FunctionResponseTypes: ['ReportBatchItemFailures'],
  });
});

test("the queue's visibility timeout is six times the eraser's timeout, and failures go to a dead-letter queue", () => {
  expect(resources[eraserId]!.Properties.Timeout).toBe(erasure.functionTimeoutSeconds);
  expect(resources[id(eraseOnDeauth.queue)]!.Properties).toMatchObject({
    VisibilityTimeout: 6 * erasure.functionTimeoutSeconds,
    RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [id(eraseOnDeauth.deadLetterQueue), 'Arn'] } },
  });
  template.hasOutput('ErasureDeadLetterQueueUrl', { Value: { Ref: id(eraseOnDeauth.deadLetterQueue) } });
});

test('the eraser may query, scan and delete items, and nothing else in the tables', () => {
  const dynamoDb = actionsOf(eraserStatements()).filter((action) => action.startsWith('dynamodb:'));
  expect([...new Set(dynamoDb)].sort()).toEqual([
    'dynamodb:BatchWriteItem',
    'dynamodb:DeleteItem',
    'dynamodb:GetItem',
    'dynamodb:Query',
    'dynamodb:Scan',
  ]);
});

test('the eraser lists only the prefixes that name a user, and deletes only in the payload bucket', () => {
  const { deliveries, archive, records, events, archiveIndex } = payloadBucket.prefixes;
  const list = eraserStatements().find((statement) => actionsOf([statement]).includes('s3:ListBucket')) as {
    Condition?: unknown;
    Resource: unknown;
  };
  expect(list.Resource).toEqual(bucketArn);
  expect(list.Condition).toEqual({ StringLike: { 's3:prefix': [`${records}*`, `${archiveIndex}*`] } });
  const objectGrants = s3GrantsOf(eraserStatements()).filter((grant) => !grant.startsWith('s3:ListBucket'));
  expect(objectGrants.sort()).toEqual(
    [
      `s3:GetObject ${objectsArn(deliveries)}`,
      ...[deliveries, archive, records, events, archiveIndex].map((prefix) => `s3:DeleteObject ${objectsArn(prefix)}`),
    ].sort(),
  );
});
