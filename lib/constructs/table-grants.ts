import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * What a principal reading and writing items of a table under a customer-managed key needs on the
 * key, spelt out: CDK's table grants add `kms:ReEncrypt*` and `kms:GenerateDataKey*`.
 */
const tableKeyActions = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'];

/**
 * Grants `role` exactly the item calls it makes on each table, on the table itself, and the
 * table's KMS key when it has a customer-managed one. Written out rather than with Table.grant,
 * which adds `<table>/index/*`: no function queries an index, and item and table calls on the
 * base table cannot target one, so that wildcard would grant nothing but noise.
 */
export function grantTableActions(role: iam.Role, tableActions: [dynamodb.ITable, string[]][]): void {
  for (const [table, actions] of tableActions) {
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources: [table.tableArn] }));
    table.encryptionKey?.grant(role, ...tableKeyActions);
  }
}
