import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { tables, type IndexDefinition, type KeyAttribute, type TableDefinition } from '../../lambdas/shared/definitions';

export interface TerraStorageProps {
  /**
   * What CloudFormation does with the tables when they leave the stack.
   * @default RemovalPolicy.RETAIN — the wearable data outlives the stack
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Customer-managed KMS key for all three tables.
   * @default - the AWS-managed key (`alias/aws/dynamodb`)
   */
  readonly encryptionKey?: kms.IKey;
}

/** The three DynamoDB tables, shaped by `lambdas/shared/definitions.ts`. */
export class TerraStorage extends Construct {
  readonly dataTable: dynamodb.Table;
  readonly usersTable: dynamodb.Table;
  readonly eventsTable: dynamodb.Table;

  constructor(scope: Construct, id: string, props: TerraStorageProps = {}) {
    super(scope, id);
    this.dataTable = this.createTable('DataTable', tables.data, props);
    this.usersTable = this.createTable('UsersTable', tables.users, props);
    this.eventsTable = this.createTable('EventsTable', tables.events, props);
  }

  private createTable(id: string, definition: TableDefinition, props: TerraStorageProps): dynamodb.Table {
    // No tableName: generated names let several stacks share an account and allow replacement.
    const table = new dynamodb.Table(this, id, {
      partitionKey: toAttribute(definition.partitionKey),
      sortKey: definition.sortKey && toAttribute(definition.sortKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      ...(props.encryptionKey
        ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: props.encryptionKey }
        : { encryption: dynamodb.TableEncryption.AWS_MANAGED }),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    for (const index of definition.globalSecondaryIndexes) {
      table.addGlobalSecondaryIndex(toIndexProps(index, definition));
    }
    Validations.of(table).acknowledge({
      id: 'HIPAA.Security-DynamoDBInBackupPlan',
      reason:
        'point-in-time recovery is on: continuous backups, restorable to any second of the last 35 days; an AWS Backup ' +
        "plan for longer retention or copies to another account is the account's backup policy (AWS Backup selects by tag), not this stack's",
    });
    return table;
  }
}

const attributeTypes = {
  S: dynamodb.AttributeType.STRING,
  N: dynamodb.AttributeType.NUMBER,
  B: dynamodb.AttributeType.BINARY,
} as const;

function toAttribute(key: KeyAttribute): dynamodb.Attribute {
  return { name: key.name, type: attributeTypes[key.type] };
}

/**
 * Key attributes of the table and of the index are always projected, and DynamoDB rejects them
 * in NonKeyAttributes, so they are dropped from the list the definitions give.
 */
export function projectedNonKeyAttributes(index: IndexDefinition, table: TableDefinition): string[] | undefined {
  if (!index.nonKeyAttributes) return undefined;
  const keys = new Set([table.partitionKey, table.sortKey, index.partitionKey, index.sortKey].flatMap((key) => (key ? [key.name] : [])));
  return index.nonKeyAttributes.filter((name) => !keys.has(name));
}

function toIndexProps(index: IndexDefinition, table: TableDefinition): dynamodb.GlobalSecondaryIndexProps {
  const nonKeyAttributes = projectedNonKeyAttributes(index, table);
  const projection =
    nonKeyAttributes === undefined
      ? { projectionType: dynamodb.ProjectionType.ALL }
      : nonKeyAttributes.length === 0
        ? { projectionType: dynamodb.ProjectionType.KEYS_ONLY }
        : { projectionType: dynamodb.ProjectionType.INCLUDE, nonKeyAttributes };
  return {
    indexName: index.indexName,
    partitionKey: toAttribute(index.partitionKey),
    sortKey: index.sortKey && toAttribute(index.sortKey),
    ...projection,
  };
}
