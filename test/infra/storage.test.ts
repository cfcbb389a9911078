import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { projectedNonKeyAttributes, TerraStorage } from '../../lib/constructs/storage';
import { TerraIngestStack } from '../../lib/terra-ingest-stack';
import { newApp } from '../support/cdk';
import { tables, type TableDefinition } from '../../lambdas/shared/definitions';

const stack = new TerraIngestStack(newApp(), 'TerraIngest');
const template = Template.fromStack(stack);

const cases = [
  ['data', tables.data],
  ['users', tables.users],
  ['events', tables.events],
] as const;

function keySchema(definition: Pick<TableDefinition, 'partitionKey' | 'sortKey'>) {
  return [
    { AttributeName: definition.partitionKey.name, KeyType: 'HASH' },
    ...(definition.sortKey ? [{ AttributeName: definition.sortKey.name, KeyType: 'RANGE' }] : []),
  ];
}

describe.each(cases)('the %s table', (_name, definition: TableDefinition) => {
  // Key schemas differ between the three tables, so they single out the table under test.
  const thisTable = (properties: Record<string, unknown> = {}) => ({ KeySchema: keySchema(definition), ...properties });

  test('has the key schema of definitions.ts', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', thisTable());
  });

  test('has the global secondary indexes of definitions.ts', () => {
    const indexes = definition.globalSecondaryIndexes.map((index) => ({
      IndexName: index.indexName,
      KeySchema: keySchema(index),
      Projection: index.nonKeyAttributes
        ? { ProjectionType: 'INCLUDE', NonKeyAttributes: projectedNonKeyAttributes(index, definition) }
        : { ProjectionType: 'ALL', NonKeyAttributes: Match.absent() },
    }));
    template.hasResourceProperties('AWS::DynamoDB::Table', thisTable({ GlobalSecondaryIndexes: indexes }));
  });

  test('bills per request', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', thisTable({ BillingMode: 'PAY_PER_REQUEST' }));
  });

  test('has point-in-time recovery', () => {
    template.hasResourceProperties(
      'AWS::DynamoDB::Table',
      thisTable({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
    );
  });

  test('is encrypted at rest', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', thisTable({ SSESpecification: { SSEEnabled: true } }));
  });

  test('is retained when the stack lets go of it', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: thisTable(),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  test('has a generated name', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', thisTable({ TableName: Match.absent() }));
  });
});

test('the stack holds exactly three tables', () => {
  template.resourceCountIs('AWS::DynamoDB::Table', 3);
});

test('GSI projections leave out key attributes, which DynamoDB always projects and rejects there', () => {
  for (const definition of Object.values(tables) as TableDefinition[]) {
    for (const index of definition.globalSecondaryIndexes) {
      const projected = projectedNonKeyAttributes(index, definition) ?? [];
      const keys = [definition.partitionKey, definition.sortKey, index.partitionKey, index.sortKey];
      for (const key of keys) if (key) expect(projected).not.toContain(key.name);
    }
  }
});

test('the removal policy can be relaxed for throw-away stacks', () => {
  const scratch = new Stack(newApp(), 'Scratch');
  new TerraStorage(scratch, 'Storage', { removalPolicy: RemovalPolicy.DESTROY });
  const tablesInTemplate = Template.fromStack(scratch).findResources('AWS::DynamoDB::Table');
  for (const resource of Object.values(tablesInTemplate)) expect(resource.DeletionPolicy).toBe('Delete');
});

test('a customer-managed key can replace the AWS-managed one', () => {
  const scratch = new Stack(newApp(), 'Scratch');
  const key = new kms.Key(scratch, 'Key');
  new TerraStorage(scratch, 'Storage', { encryptionKey: key });
  Template.fromStack(scratch).allResourcesProperties('AWS::DynamoDB::Table', {
    SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
  });
});
