import { Template } from 'aws-cdk-lib/assertions';
import { eraserMaxConcurrency } from '../../lib/constructs/eraser';
import { consumerMaxConcurrencyDefault } from '../../lib/constructs/pipeline';
import { TerraIngestStack, type TerraIngestStackProps } from '../../lib/terra-ingest-stack';
import { newApp, type Resources } from '../support/cdk';

/** Every door the consumer reads, and the eraser's queue. */
const everyQueue: TerraIngestStackProps = { sqsDestination: true, s3Destination: true, eraseOnDeauth: true };

function synth(props: TerraIngestStackProps) {
  const stack = new TerraIngestStack(newApp(), 'TerraIngest', props);
  const template = Template.fromStack(stack);
  const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  const mappings = Object.values(template.toJSON().Resources as Resources).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping');
  const of = (fn: { node: { defaultChild?: unknown } }) => mappings.filter((m) => m.Properties.FunctionName.Ref === id(fn));
  return { stack, template, mappings, of };
}

const everything = synth(everyQueue);
const consumerMappings = everything.of(everything.stack.pipeline.consumerFunction);

test('the consumer reads three queues with every door open', () => {
  expect(consumerMappings).toHaveLength(3);
});

test.each([
  ['pipeline', () => everything.stack.pipeline.queue],
  ['SQS destination', () => everything.stack.destinations!.sqs!.queue],
  ['S3 destination events', () => everything.stack.destinations!.s3!.notifications.queue],
] as const)('the consumer reading the %s queue is bounded by consumerMaxConcurrencyDefault by default', (_name, queue) => {
  everything.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    EventSourceArn: { 'Fn::GetAtt': [everything.stack.getLogicalId(queue().node.defaultChild as never), 'Arn'] },
    FunctionName: { Ref: everything.stack.getLogicalId(everything.stack.pipeline.consumerFunction.node.defaultChild as never) },
    ScalingConfig: { MaximumConcurrency: consumerMaxConcurrencyDefault },
  });
});

test('the eraser reading the erasure queue is bounded by eraserMaxConcurrency', () => {
  const [mapping, ...others] = everything.of(everything.stack.eraseOnDeauth!.eraserFunction);
  expect(others).toEqual([]);
  expect(mapping!.Properties.ScalingConfig).toEqual({ MaximumConcurrency: eraserMaxConcurrency });
});

test('no event-source mapping is left unbounded', () => {
  for (const mapping of everything.mappings) expect(mapping.Properties.ScalingConfig?.MaximumConcurrency).toBeGreaterThanOrEqual(2);
});

test('consumerMaxConcurrency sets the bound of every queue the consumer reads, and only of those', () => {
  const custom = synth({ ...everyQueue, consumerMaxConcurrency: 25 });
  const bounds = custom.of(custom.stack.pipeline.consumerFunction).map((m) => m.Properties.ScalingConfig.MaximumConcurrency);
  expect(bounds).toEqual([25, 25, 25]);
  expect(custom.of(custom.stack.eraseOnDeauth!.eraserFunction)[0]!.Properties.ScalingConfig.MaximumConcurrency).toBe(eraserMaxConcurrency);
});

test('the default stack bounds its one mapping by the default', () => {
  synth({}).template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    ScalingConfig: { MaximumConcurrency: consumerMaxConcurrencyDefault },
  });
});

test.each([1, 1001, 2.5, Number.NaN])('refuses a consumerMaxConcurrency of %p, which SQS event sources do not take', (value) => {
  expect(() => new TerraIngestStack(newApp(), 'TerraIngest', { consumerMaxConcurrency: value })).toThrow(
    /consumerMaxConcurrency must be a whole number from 2 to 1000/,
  );
});

test('keeps the API throttling beside the consumer bound', () => {
  everything.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
    DefaultRouteSettings: { ThrottlingBurstLimit: 500, ThrottlingRateLimit: 1000 },
  });
});
