import { Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks } from 'cdk-nag';
import { destinations } from '../../lambdas/shared/definitions';
import { TerraIngestStack, type TerraIngestStackProps } from '../../lib/terra-ingest-stack';
import { newApp } from '../support/cdk';

/**
 * Both packs bin/terra-ingest.ts runs at synth, over every shape of the stack: each finding is
 * either fixed or acknowledged, with its reason, beside the construct that causes it.
 */

const terraRoleArn = destinations.bucket.terraRoleArn;
const allOn: TerraIngestStackProps = {
  sqsDestination: true,
  eraseOnDeauth: true,
  tracing: true,
  customerManagedKey: true,
  sourceIpAllowlist: true,
};

const variants: Record<string, TerraIngestStackProps> = {
  'no optional prop': {},
  'every optional prop, S3 destination with the IAM user': { ...allOn, s3Destination: true },
  "every optional prop, S3 destination with Terra's role": { ...allOn, s3Destination: { terraRoleArn } },
  'customerManagedKey alone': { customerManagedKey: true },
  'both destinations and erase on deauth, without a key': { sqsDestination: true, s3Destination: true, eraseOnDeauth: true },
  'SQS destination alone': { sqsDestination: true },
  'S3 destination alone': { s3Destination: true },
  "Terra's role alone": { s3Destination: { terraRoleArn } },
  "SQS destination and Terra's role": { sqsDestination: true, s3Destination: { terraRoleArn } },
  'tracing alone': { tracing: true },
  'source-address allowlist alone': { sourceIpAllowlist: ['203.0.113.0/24'] },
};

const packs = {
  AwsSolutions: (app: App) => new AwsSolutionsChecks(app),
  'HIPAA Security': (app: App) => new HIPAASecurityChecks(app),
};

/** Each unacknowledged finding as `rule at construct path`. */
function violations(props: TerraIngestStackProps, pack: keyof typeof packs): string[] {
  const app = newApp();
  new TerraIngestStack(app, 'TerraIngest', props);
  return packs[pack](app)
    .validateScope(app)
    .violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`),
    );
}

describe.each(Object.keys(packs) as (keyof typeof packs)[])('the %s pack', (pack) => {
  test.each(Object.keys(variants))('finds nothing unacknowledged (%s)', (name) => {
    expect(violations(variants[name]!, pack)).toEqual([]);
  });
});

test('with the key, the encryption findings are fixed, not acknowledged', () => {
  const app = newApp();
  new TerraIngestStack(app, 'TerraIngest', { ...allOn, s3Destination: true });
  const acknowledged = new Set<string>();
  for (const node of app.node.findAll()) {
    for (const entry of node.node.metadata) {
      if (entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY) {
        for (const id of Object.keys(entry.data as object)) acknowledged.add(id.replace(/^annotation::/i, ''));
      }
    }
  }
  const encryptionRules = ['CloudWatchLogGroupEncrypted', 'S3DefaultEncryptionKMS', 'SecretsManagerUsingKMSKey'].map(
    (rule) => `HIPAA.Security-${rule}`,
  );
  expect(encryptionRules.filter((rule) => acknowledged.has(rule))).toEqual([]);
});

test('every acknowledgement gives a reason of its own, not a placeholder', () => {
  const app = newApp();
  new TerraIngestStack(app, 'TerraIngest', { sqsDestination: true, s3Destination: true, eraseOnDeauth: true });
  const reasons = app.node
    .findAll()
    .flatMap((node) => node.node.metadata)
    .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
    .flatMap((entry) => Object.values(entry.data as Record<string, string>));
  expect(reasons.length).toBeGreaterThan(0);
  expect(reasons.filter((reason) => reason.trim().split(/\s+/).length < 8)).toEqual([]);
});
