import { Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { grantKeyVia } from './encryption-key';

export interface OperatorSecretProps {
  readonly description: string;
  /** Why the secret does not rotate itself: who issues the value and how the operator replaces it. */
  readonly rotation: string;
  /**
   * Customer-managed KMS key for the value (stack prop `customerManagedKey`); readers are then
   * granted Decrypt through Secrets Manager with `grantSecretRead`.
   * @default - the AWS-managed key `aws/secretsmanager`
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * A Secrets Manager secret the operator fills: its value comes from Terra's dashboard, never
 * from the template. Without SecretString and GenerateSecretString CloudFormation creates the
 * secret with no value.
 */
export function operatorFilledSecret(scope: Construct, id: string, props: OperatorSecretProps): secretsmanager.Secret {
  const secret = new secretsmanager.Secret(scope, id, { description: props.description });
  const cfnSecret = secret.node.defaultChild as secretsmanager.CfnSecret;
  cfnSecret.addPropertyDeletionOverride('GenerateSecretString');
  // Set on the resource rather than through the Secret's encryptionKey, which would add a key-policy
  // statement for the whole account through Secrets Manager with kms:ReEncrypt* and
  // kms:GenerateDataKey*; the key's policy leaves its use to IAM, and each reader gets Decrypt alone.
  if (props.encryptionKey) cfnSecret.kmsKeyId = props.encryptionKey.keyArn;
  Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: props.rotation });
  Validations.of(secret).acknowledge({ id: 'HIPAA.Security-SecretsManagerRotationEnabled', reason: props.rotation });
  if (!props.encryptionKey) {
    Validations.of(secret).acknowledge({
      id: 'HIPAA.Security-SecretsManagerUsingKMSKey',
      reason:
        'the value is encrypted with the AWS-managed key aws/secretsmanager; the stack prop customerManagedKey puts it under a customer-managed KMS key',
    });
  }
  return secret;
}

/** Lets `grantee` read the value: GetSecretValue, and the key's Decrypt through Secrets Manager when there is one. */
export function grantSecretRead(secret: secretsmanager.ISecret, grantee: iam.IGrantable, encryptionKey?: kms.IKey): void {
  secret.grantRead(grantee);
  if (encryptionKey) grantKeyVia(encryptionKey, grantee, 'secretsmanager', 'kms:Decrypt');
}
