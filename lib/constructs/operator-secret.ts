import { Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';

/**
 * A Secrets Manager secret the operator fills: its value comes from Terra's dashboard, never
 * from the template. Without SecretString and GenerateSecretString CloudFormation creates the
 * secret with no value.
 */
export function operatorFilledSecret(scope: Construct, id: string, props: { description: string; rotation: string }): secretsmanager.Secret {
  const secret = new secretsmanager.Secret(scope, id, { description: props.description });
  (secret.node.defaultChild as secretsmanager.CfnSecret).addPropertyDeletionOverride('GenerateSecretString');
  Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: props.rotation });
  return secret;
}
