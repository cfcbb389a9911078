import { CfnResource, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { destinations } from '../../lambdas/shared/definitions';
import { TerraIngestStack, type TerraIngestStackProps } from '../../lib/terra-ingest-stack';
import { newApp } from '../support/cdk';

/**
 * No policy in the stack allows (or denies) a wildcard action or resource, except those listed
 * below, each with its reason. Every policy document in the template is read: IAM policies
 * (managed, inline in a role, user or group, or standalone), queue, bucket and topic policies, and
 * key policies. A listed exception that no longer occurs fails too, so the list stays honest.
 * `PRINT_IAM_WILDCARDS=1` prints the accepted wildcards with their reasons.
 */

type PolicyStatement = { Effect: 'Allow' | 'Deny'; Action?: unknown; NotAction?: unknown; Resource?: unknown; NotResource?: unknown };
type PolicyDocument = { Statement: PolicyStatement | PolicyStatement[] };
/** The properties that hold policies, of whichever resource type holds them. */
type PolicyProperties = {
  PolicyDocument?: PolicyDocument;
  KeyPolicy?: PolicyDocument;
  Policies?: { PolicyDocument: PolicyDocument }[];
  ManagedPolicyArns?: unknown[];
};
type Resources = Record<string, { Type: string; Properties?: PolicyProperties }>;
/** The intrinsic functions policies here use. */
type Intrinsic = { Ref: string } | { 'Fn::GetAtt': [string, string] } | { 'Fn::Join': [string, unknown[]] };

/** One wildcard in one statement. */
interface Finding {
  /** `<resource type> <construct path>` of the policy. */
  where: string;
  effect: 'Allow' | 'Deny';
  field: 'Action' | 'Resource' | 'NotAction' | 'NotResource' | 'ManagedPolicyArns';
  value: string;
  /** Every action of the statement, so an exception can name what a wildcard resource is for. */
  actions: string[];
}

interface Exception {
  where: RegExp;
  effect: 'Allow' | 'Deny';
  field: Finding['field'];
  value: RegExp;
  /** When given, every action of the statement must match it. */
  actions?: RegExp;
  reason: string;
}

const functionRolePolicy = /^AWS::IAM::Policy (Webhook\/Ingest|Pipeline\/Consumer|EraseOnDeauth\/Eraser)\/Role\/DefaultPolicy$/;

const exceptions: Exception[] = [
  {
    where: functionRolePolicy,
    effect: 'Allow',
    field: 'Resource',
    value:
      /^arn:\$\{AWS::Partition\}:logs:\$\{AWS::Region\}:\$\{AWS::AccountId\}:log-group:<(Webhook\/Ingest|Pipeline\/Consumer|EraseOnDeauth\/Eraser)\/LogGroup>:\*$/,
    actions: /^logs:(CreateLogStream|PutLogEvents)$/,
    reason:
      "the function's own log group (a log group's ARN ends in :*, its streams): Lambda opens a stream per instance, " +
      'so the group is the narrowest resource; no other log group is granted',
  },
  {
    where: functionRolePolicy,
    effect: 'Allow',
    field: 'Resource',
    value: /^<Payloads\/Bucket>\.Arn\/(deliveries|archive|archive-index|records|events)\/\*$/,
    actions: /^s3:(GetObject|PutObject|DeleteObject|AbortMultipartUpload)$/,
    reason:
      'payload-bucket objects under one prefix: keys are made per delivery or record (dates, ids, digests), so the prefix is ' +
      'the narrowest resource that can name them; each function gets only its prefixes and actions (PayloadBucket.grantObjects)',
  },
  {
    where:
      /^AWS::IAM::Policy (Pipeline\/Consumer\/Role\/DefaultPolicy|Destinations\/TerraUserPolicy)$|^AWS::S3::BucketPolicy Destinations\/S3\/Bucket\/Policy$/,
    effect: 'Allow',
    field: 'Resource',
    value: /^<Destinations\/S3\/Bucket>\.Arn\/\*$/,
    actions: /^s3:(GetObject|GetObjectVersion|PutObject|DeleteObject)$/,
    reason:
      'every object of the S3 destination bucket: Terra chooses every key (docs/terra.md §10) and the bucket holds nothing else; ' +
      "the consumer may only read, Terra's IAM user only put, Terra's role (bucket policy, terraRoleArn) get, put and delete",
  },
  {
    where: /^AWS::(SQS::QueuePolicy|S3::BucketPolicy) /,
    effect: 'Deny',
    field: 'Action',
    value: /^(sqs|s3):\*$/,
    reason: 'enforceSSL: every request not made over TLS is denied, whatever its action; a wildcard in a Deny narrows access',
  },
  {
    where: /^AWS::S3::BucketPolicy (Payloads|Destinations\/S3)\/Bucket\/Policy$/,
    effect: 'Deny',
    field: 'Resource',
    value: /^<(Payloads|Destinations\/S3)\/Bucket>\.Arn\/\*$/,
    reason: 'enforceSSL: the TLS-only Deny covers every object of the bucket',
  },
  {
    where: /^AWS::KMS::Key EncryptionKey$/,
    effect: 'Allow',
    field: 'Resource',
    value: /^\*$/,
    reason: 'in a key policy, Resource "*" is this key and nothing else',
  },
  {
    where: /^AWS::KMS::Key EncryptionKey$/,
    effect: 'Allow',
    field: 'Action',
    value: /^kms:\*$/,
    reason:
      "the key's default policy statement for the account root: it hands the key's use and administration to IAM policies in " +
      'this account (without it nobody could manage the key); every principal of the stack is granted exact actions by its own policy',
  },
  {
    where: functionRolePolicy,
    effect: 'Allow',
    field: 'Resource',
    value: /^\*$/,
    actions: /^xray:(PutTraceSegments|PutTelemetryRecords)$/,
    reason: 'tracing: X-Ray has no resource-level permissions; only sending segments and telemetry is allowed',
  },
  {
    where: /^AWS::IAM::Role BucketNotificationsHandler050a0587b7544547bf325f094a3db834\/Role$/,
    effect: 'Allow',
    field: 'ManagedPolicyArns',
    value: /AWSLambdaBasicExecutionRole$/,
    reason:
      "CDK's bucket-notifications handler, which runs only while the stack deploys: CDK gives its role the AWS-managed " +
      'basic execution policy (logs:CreateLogGroup, CreateLogStream, PutLogEvents on "*") for its own logs',
  },
];

const terraRoleArn = destinations.bucket.terraRoleArn;
const allOn: TerraIngestStackProps = {
  sqsDestination: true,
  eraseOnDeauth: true,
  tracing: true,
  customerManagedKey: true,
  sourceIpAllowlist: true,
  consumerMaxConcurrency: 20,
};
const variants: Record<string, TerraIngestStackProps> = {
  'no optional prop': {},
  'every optional prop, Terra writing to S3 with the IAM user': { ...allOn, s3Destination: true },
  'every optional prop, Terra writing to S3 with its own role': { ...allOn, s3Destination: { terraRoleArn } },
};

/** A template value as a readable string: `<construct path>` for a resource, `${AWS::…}` for a pseudo parameter. */
function render(value: unknown, names: Map<string, { path: string; type: string }>): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map((v) => render(v, names)).join(',');
  const intrinsic = value as Intrinsic;
  if ('Ref' in intrinsic) return names.has(intrinsic.Ref) ? `<${names.get(intrinsic.Ref)!.path}>` : `\${${intrinsic.Ref}}`;
  if ('Fn::GetAtt' in intrinsic) {
    const [logicalId, attribute] = intrinsic['Fn::GetAtt'];
    const target = names.get(logicalId);
    // A log group's Arn attribute carries a wildcard the template does not show: `…:log-group:<name>:*`.
    if (target?.type === 'AWS::Logs::LogGroup' && attribute === 'Arn') {
      return `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:<${target.path}>:*`;
    }
    return `<${target?.path ?? logicalId}>.${attribute}`;
  }
  if ('Fn::Join' in intrinsic) {
    const [separator, parts] = intrinsic['Fn::Join'];
    return (parts as unknown[]).map((part) => render(part, names)).join(separator);
  }
  return JSON.stringify(intrinsic);
}

/** Every wildcard in every policy document of the stack. */
function findings(stack: Stack): Finding[] {
  const resources = Template.fromStack(stack).toJSON().Resources as Resources;
  const names = new Map<string, { path: string; type: string }>();
  for (const node of stack.node.findAll()) {
    if (!CfnResource.isCfnResource(node)) continue;
    const path = node.node.path.replace(`${stack.node.id}/`, '').replace(/\/Resource$/, '');
    names.set(stack.getLogicalId(node), { path, type: node.cfnResourceType });
  }
  const found: Finding[] = [];
  for (const [logicalId, resource] of Object.entries(resources)) {
    const where = `${resource.Type} ${names.get(logicalId)?.path ?? logicalId}`;
    const properties = resource.Properties ?? {};
    const documents = [properties.PolicyDocument, properties.KeyPolicy, ...(properties.Policies ?? []).map((p) => p.PolicyDocument)];
    for (const document of documents.filter(Boolean) as PolicyDocument[]) {
      for (const statement of [document.Statement].flat() as PolicyStatement[]) {
        const actions = [statement.Action ?? statement.NotAction].flat().map((a) => render(a, names));
        const record = (field: Finding['field'], value: string) => found.push({ where, effect: statement.Effect, field, value, actions });
        for (const action of [statement.Action].flat().filter(Boolean))
          if (render(action, names).includes('*')) record('Action', render(action, names));
        for (const target of [statement.Resource].flat().filter(Boolean))
          if (render(target, names).includes('*')) record('Resource', render(target, names));
        // NotAction and NotResource allow everything but what they name.
        for (const field of ['NotAction', 'NotResource'] as const) if (statement[field]) record(field, render(statement[field], names));
      }
    }
    // What an AWS-managed policy allows is not in the template; each one attached is listed.
    for (const arn of properties.ManagedPolicyArns ?? [])
      found.push({ where, effect: 'Allow', field: 'ManagedPolicyArns', value: render(arn, names), actions: [] });
  }
  return found;
}

const matches = (exception: Exception, finding: Finding) =>
  exception.where.test(finding.where) &&
  exception.effect === finding.effect &&
  exception.field === finding.field &&
  exception.value.test(finding.value) &&
  (exception.actions === undefined || (finding.actions.length > 0 && finding.actions.every((action) => exception.actions!.test(action))));

const found = Object.fromEntries(
  Object.entries(variants).map(([name, props]) => [name, findings(new TerraIngestStack(newApp(), 'TerraIngest', props))]),
);

test.each(Object.keys(variants))('every wildcard is a listed exception (%s)', (name) => {
  const unlisted = found[name]!.filter((finding) => !exceptions.some((exception) => matches(exception, finding)));
  expect(unlisted).toEqual([]);
});

test.each(exceptions.map((exception) => [exception.reason.slice(0, 60), exception] as const))(
  'every listed exception still occurs: %s…',
  (_reason, exception) => {
    const occurrences = Object.values(found)
      .flat()
      .filter((finding) => matches(exception, finding));
    expect(occurrences.length).toBeGreaterThan(0);
  },
);

test('without optional props, the only wildcards are the log groups, the payload-bucket prefixes and the TLS-only Denies', () => {
  const reasons = new Set(found['no optional prop']!.map((finding) => exceptions.findIndex((exception) => matches(exception, finding))));
  expect([...reasons].sort()).toEqual([0, 1, 3, 4]);
});

test('the walk reads managed, inline and resource policies, and sees a wildcard in an action, in a resource and in a join', () => {
  const stack = new Stack(newApp(), 'Scratch');
  const loose = (Action: unknown, Resource: unknown) => ({ Statement: [{ Effect: 'Allow', Action, Resource }] });
  new CfnResource(stack, 'Managed', {
    type: 'AWS::IAM::ManagedPolicy',
    properties: { PolicyDocument: loose('s3:Get*', 'arn:aws:s3:::b') },
  });
  new CfnResource(stack, 'Inline', {
    type: 'AWS::IAM::Role',
    properties: {
      AssumeRolePolicyDocument: {
        Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      },
      Policies: [{ PolicyName: 'p', PolicyDocument: loose('s3:PutObject', { 'Fn::Join': ['', ['arn:aws:s3:::b', '/*']] }) }],
    },
  });
  new CfnResource(stack, 'Topic', {
    type: 'AWS::SNS::TopicPolicy',
    properties: { Topics: [], PolicyDocument: loose(['sns:Publish'], ['*']) },
  });
  expect(findings(stack).map(({ where, field, value }) => `${where} ${field} ${value}`)).toEqual([
    'AWS::IAM::ManagedPolicy Managed Action s3:Get*',
    'AWS::IAM::Role Inline Resource arn:aws:s3:::b/*',
    'AWS::SNS::TopicPolicy Topic Resource *',
  ]);
});

if (process.env.PRINT_IAM_WILDCARDS) {
  afterAll(() => {
    const lines = exceptions.map((exception) => {
      const seen = [
        ...new Set(
          Object.values(found)
            .flat()
            .filter((finding) => matches(exception, finding))
            .map((f) => `${f.where}: ${f.effect} ${f.field} ${f.value}`),
        ),
      ];
      return `- ${exception.reason}\n${seen.map((line) => `    ${line}`).join('\n')}`;
    });
    console.log(`Accepted wildcards:\n${lines.join('\n')}`);
  });
}
