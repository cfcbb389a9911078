import { CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';

/**
 * Grants `role` exactly the item calls it makes on each table, and the table's KMS key when it
 * has a customer-managed one (Table.grant adds no key permissions).
 */
export function grantTableActions(role: iam.Role, tableActions: [dynamodb.ITable, string[]][]): void {
  for (const [table, actions] of tableActions) {
    table.grant(role, ...actions);
    table.encryptionKey?.grantEncryptDecrypt(role);
    // Table.grant also lists `<table>/index/*`; item and table calls on the base table cannot
    // target an index, so those resources grant nothing beyond the table itself.
    const cfnTable = table.node.defaultChild;
    if (!CfnElement.isCfnElement(cfnTable)) continue;
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(cfnTable).getLogicalId(cfnTable)}.Arn>/index/*]`,
      reason: `Table.grant adds the table indexes; ${actions.map((action) => action.replace('dynamodb:', '')).join(', ')} name the base table only`,
    });
  }
}
