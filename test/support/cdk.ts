import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';

/**
 * An App with cdk.json's feature flags, as `cdk synth` uses them. Bundling is skipped: the infra
 * tests look at the template, not at the Lambda code (test/integration/lambda-bundles does).
 */
const { context } = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'));
export const newApp = () => new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });

/**
 * A resource's Properties as synthesized: whatever JSON CloudFormation takes for its type, which the
 * tests read field by field.
 */
// biome-ignore lint/suspicious/noExplicitAny: a template is untyped JSON, and CDK's own Template.toJSON() returns it as any; a type per resource would only restate CloudFormation.
export type TemplateProperties = any;
export type Resources = Record<
  string,
  { Type: string; Properties: TemplateProperties; DeletionPolicy?: string; UpdateReplacePolicy?: string }
>;
export type Statement = { Action: string | string[]; Resource: unknown };

/** Every statement allowed to a role, from all the policies attached to it. */
export function roleStatements(resources: Resources, roleId: string): Statement[] {
  return Object.values(resources)
    .filter((resource) => resource.Type === 'AWS::IAM::Policy')
    .filter((resource) => (resource.Properties.Roles ?? []).some((role: { Ref?: string }) => role.Ref === roleId))
    .flatMap((resource) => resource.Properties.PolicyDocument.Statement)
    .filter((statement) => statement.Effect === 'Allow');
}

export const actionsOf = (statements: Statement[]): string[] => statements.flatMap((statement) => [statement.Action].flat());

/** Each S3 action allowed, paired with each resource it is allowed on. */
export function s3GrantsOf(statements: Statement[]): string[] {
  return statements.flatMap((statement) =>
    [statement.Action]
      .flat()
      .filter((action) => action.startsWith('s3:'))
      .flatMap((action) => [statement.Resource].flat().map((resource) => `${action} ${JSON.stringify(resource)}`)),
  );
}
