import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { TerraIngestStack } from '../../lib/terra-ingest-stack';
import { newApp, roleStatements } from '../support/cdk';

/** The stack with every function (eraser included), with or without tracing. */
function synth(tracing?: boolean) {
  const stack = new TerraIngestStack(newApp(), 'TerraIngest', { eraseOnDeauth: true, s3Destination: true, tracing });
  const template = Template.fromStack(stack);
  const functions: Record<string, lambda.Function> = {
    ingest: stack.webhook.ingestFunction,
    consumer: stack.pipeline.consumerFunction,
    eraser: stack.eraseOnDeauth!.eraserFunction,
  };
  const id = (fn: lambda.Function) => stack.getLogicalId(fn.node.defaultChild as never);
  const properties = (fn: lambda.Function) => template.toJSON().Resources[id(fn)].Properties;
  const statements = (fn: lambda.Function) =>
    roleStatements(template.toJSON().Resources, stack.getLogicalId(fn.role!.node.defaultChild as never));
  return { functions, properties, statements };
}

const traced = synth(true);
const untraced = synth();
const names = ['ingest', 'consumer', 'eraser'];

test.each(names)('with tracing, the %s function traces actively', (name) => {
  expect(traced.properties(traced.functions[name]!).TracingConfig).toEqual({ Mode: 'Active' });
});

test.each(names)('by default, the %s function has no tracing configuration', (name) => {
  expect(untraced.properties(untraced.functions[name]!).TracingConfig).toBeUndefined();
});

test.each(names)('with tracing, the %s role may send trace segments and telemetry, which X-Ray allows on * only', (name) => {
  expect(traced.statements(traced.functions[name]!)).toContainEqual(
    expect.objectContaining({ Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' }),
  );
});

test.each(names)('by default, the %s role has no X-Ray permission', (name) => {
  const actions = untraced.statements(untraced.functions[name]!).flatMap((s) => [s.Action].flat());
  expect(actions.filter((action) => action.startsWith('xray:'))).toEqual([]);
});

test("the tracing prop leaves CDK's bucket-notifications handler alone: it runs only while the stack deploys", () => {
  const stack = new TerraIngestStack(newApp(), 'TerraIngest', { s3Destination: true, tracing: true });
  Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
    Handler: 'index.handler',
    Description: Match.stringLikeRegexp('Custom::S3BucketNotifications'),
    TracingConfig: Match.absent(),
  });
});
