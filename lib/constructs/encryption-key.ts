import { Annotations, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

/**
 * Stack prop `customerManagedKey`: `true` creates the stack's own key, a key puts everything
 * under that key instead, `false` leaves every resource on its AWS-managed or service-managed
 * encryption.
 */
export type CustomerManagedKeyOption = boolean | kms.IKey;

/**
 * What CloudWatch Logs does with a key that encrypts a log group (the documented `Encrypt*`,
 * `Decrypt*`, `ReEncrypt*`, `GenerateDataKey*`, `Describe*`, spelt out so no wildcard action is granted).
 */
const logsKeyActions = [
  'kms:Encrypt',
  'kms:Decrypt',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:DescribeKey',
];

/**
 * The key the stack encrypts its tables, queues, buckets, log groups and secrets with, or
 * undefined when `option` is off. A created key rotates yearly, has an alias named after the
 * stack and outlives the stack: data encrypted under a deleted key is lost for good.
 */
export function customerManagedKey(scope: Construct, option: CustomerManagedKeyOption | undefined): kms.IKey | undefined {
  if (!option) return undefined;
  const stack = Stack.of(scope);
  const key =
    option === true
      ? new kms.Key(scope, 'EncryptionKey', {
          description: `${stack.stackName}: Terra data at rest (tables, queues, buckets, logs, secrets)`,
          alias: `alias/${stack.stackName}`,
          enableKeyRotation: true,
          removalPolicy: RemovalPolicy.RETAIN,
        })
      : option;
  allowOnKey(
    key,
    new iam.PolicyStatement({
      // CloudWatch Logs encrypts with the key itself, so the key policy (not a role) must allow it,
      // and only for log groups of this account and region.
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: logsKeyActions,
      resources: ['*'],
      conditions: {
        ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*` },
      },
    }),
  );
  return key;
}

/**
 * Adds `statement` to the key policy; a key imported into the stack cannot be changed, so the
 * operator is told what its policy must hold.
 */
export function allowOnKey(key: kms.IKey, statement: iam.PolicyStatement): void {
  if (key.addToResourcePolicy(statement, true).statementAdded) return;
  Annotations.of(key).addWarningV2(
    'terra-ingest:keyPolicyNotChanged',
    `The key policy of an imported key cannot be changed here; it must hold: ${JSON.stringify(Stack.of(key).resolve(statement.toStatementJson()))}`,
  );
}

/**
 * `actions` on `key`, only when `service` (e.g. `sqs`) makes the call on the principal's behalf:
 * the principal can use the key through that service's encryption and cannot call KMS directly.
 */
export function keyViaStatement(key: kms.IKey, service: string, ...actions: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions,
    resources: [key.keyArn],
    conditions: { StringEquals: { 'kms:ViaService': `${service}.${Stack.of(key).region}.amazonaws.com` } },
  });
}

/** Allows `grantee` `actions` on `key` through `service` only (see keyViaStatement). */
export function grantKeyVia(key: kms.IKey, grantee: iam.IGrantable, service: string, ...actions: string[]): void {
  grantee.grantPrincipal.addToPrincipalPolicy(keyViaStatement(key, service, ...actions));
}
