import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { defaults, payloadBucket } from '../../lambdas/shared/definitions';
import { PayloadBucket } from '../../lib/constructs/payload-bucket';
import { WebhookApi } from '../../lib/constructs/webhook-api';
import { TerraIngestStack } from '../../lib/terra-ingest-stack';
import { actionsOf, newApp, type Resources, roleStatements, s3GrantsOf } from '../support/cdk';

const stack = new TerraIngestStack(newApp(), 'TerraIngest');
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Resources;

const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
const secretId = id(stack.webhook.signingSecret);
const ingestId = id(stack.webhook.ingestFunction);
const ingestRoleId = id(stack.webhook.ingestFunction.role!);
const bucketId = id(stack.payloads.bucket);

const ingestStatements = () => roleStatements(resources, ingestRoleId);
const ingestActions = () => actionsOf(ingestStatements());
const ingestS3Grants = () => s3GrantsOf(ingestStatements());

/** A stack with only the webhook, for props the full stack does not expose. */
function webhookOnly(props: Partial<ConstructorParameters<typeof WebhookApi>[2]> = {}): Template {
  const scratch = new Stack(newApp(), 'Scratch');
  new WebhookApi(scratch, 'Webhook', {
    queue: new sqs.Queue(scratch, 'Queue'),
    payloadBucket: new PayloadBucket(scratch, 'Payloads'),
    ...props,
  });
  return Template.fromStack(scratch);
}

describe('signing secret', () => {
  test('is created without a value, for the operator to fill', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('comma-separated list'),
      SecretString: Match.absent(),
      GenerateSecretString: Match.absent(),
    });
  });

  test('has no value or generated value anywhere in the template', () => {
    const json = JSON.stringify(template.toJSON());
    expect(json).not.toContain('SecretString');
    expect(json).not.toContain('GenerateSecretString');
  });

  test('reaches the ingest function as its ARN, never as a value', () => {
    const variables: Record<string, unknown> = resources[ingestId]!.Properties.Environment.Variables;
    expect(variables.SIGNING_SECRET_ID).toEqual({ Ref: secretId });
    // No variable may look like it carries a secret value.
    for (const name of Object.keys(variables)) {
      expect(name).not.toMatch(/SECRET(?!_ID$)|PASSWORD|TOKEN|KEY$/);
    }
  });

  test('a signing secret lying in the environment at synth time does not reach the template', () => {
    const canary = 'canary-5f0c1e9a7b3d4c2e8f6a';
    const names = ['TERRA_SIGNING_SECRET', 'TERRA_WEBHOOK_SECRET', 'SIGNING_SECRET', 'TERRA_SECRET'];
    const saved = names.map((name) => process.env[name]);
    for (const name of names) process.env[name] = canary;
    try {
      const fresh = new TerraIngestStack(newApp(), 'TerraIngest');
      expect(JSON.stringify(Template.fromStack(fresh).toJSON())).not.toContain(canary);
    } finally {
      for (const [i, name] of names.entries()) {
        if (saved[i] === undefined) delete process.env[name];
        else process.env[name] = saved[i];
      }
    }
  });
});

describe('ingest function', () => {
  test('gets the queue, the payload bucket, the secret, the tolerance and its Powertools service name', () => {
    expect(resources[ingestId]!.Properties.Environment.Variables).toEqual({
      QUEUE_URL: { Ref: id(stack.pipeline.queue) },
      PAYLOAD_BUCKET: { Ref: bucketId },
      SIGNING_SECRET_ID: { Ref: secretId },
      TERRA_SIGNATURE_TOLERANCE_SECONDS: String(defaults.signatureToleranceSeconds),
      POWERTOOLS_SERVICE_NAME: 'terra-ingest-webhook',
    });
  });

  test('takes its signature tolerance from props', () => {
    webhookOnly({ signatureToleranceSeconds: 60 }).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ TERRA_SIGNATURE_TOLERANCE_SECONDS: '60' }) },
    });
  });

  test('answers within Terra’s patience: 10 s timeout, 512 MB', () => {
    expect(resources[ingestId]!.Properties).toMatchObject({ Timeout: 10, MemorySize: 512 });
  });

  test('may send to the queue', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: ingestRoleId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: Match.arrayWith(['sqs:SendMessage']),
            Resource: { 'Fn::GetAtt': [id(stack.pipeline.queue), 'Arn'] },
          }),
        ]),
      },
    });
  });

  test('may read the signing secret', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: ingestRoleId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: Match.arrayWith(['secretsmanager:GetSecretValue']),
            Resource: { Ref: secretId },
          }),
        ]),
      },
    });
  });

  test('may put objects under deliveries/ and nowhere else in the bucket', () => {
    const deliveries = { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${payloadBucket.prefixes.deliveries}*`]] };
    expect(ingestS3Grants()).toEqual([`s3:PutObject ${JSON.stringify(deliveries)}`]);
  });

  test('may not read or delete objects', () => {
    expect(ingestActions()).not.toContain('s3:GetObject');
    expect(ingestActions()).not.toContain('s3:DeleteObject');
    expect(ingestActions()).not.toContain('s3:*');
  });

  test('has no DynamoDB permission', () => {
    expect(ingestActions().filter((action) => action.startsWith('dynamodb:'))).toEqual([]);
  });

  test('may not consume the queue', () => {
    expect(ingestActions()).not.toContain('sqs:ReceiveMessage');
    expect(ingestActions()).not.toContain('sqs:DeleteMessage');
  });
});

describe('HTTP API', () => {
  test('has exactly one route, POST /webhook', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /webhook' });
  });

  test('hands the request to the ingest function with payload format 2.0', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      IntegrationUri: { 'Fn::GetAtt': [ingestId, 'Arn'] },
      PayloadFormatVersion: '2.0',
    });
  });

  test('logs access to a log group, with the request id', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] },
        Format: Match.stringLikeRegexp('\\$context\\.requestId'),
      },
    });
  });

  test('throttles at burst 500 and rate 1000 by default', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingBurstLimit: 500, ThrottlingRateLimit: 1000 },
    });
  });

  test('takes its throttling from props', () => {
    webhookOnly({ throttle: { burstLimit: 20, rateLimit: 10 } }).hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingBurstLimit: 20, ThrottlingRateLimit: 10 },
    });
  });

  test('exposes the webhook URL under the API endpoint', () => {
    expect(stack.resolve(stack.webhook.webhookUrl)).toEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [id(stack.webhook.api), 'ApiEndpoint'] }, '/webhook']],
    });
  });
});
