import { Template } from 'aws-cdk-lib/assertions';
import { defaults } from '../../lambdas/shared/definitions';
import { TerraIngestStack } from '../../lib/terra-ingest-stack';
import { newApp } from '../support/cdk';

/** The size above which the consumer stores a record gzipped rather than as a map (RECORD_MAP_MAX_BYTES). */
const consumerVariable = (stack: TerraIngestStack) => {
  const resources = Template.fromStack(stack).toJSON().Resources as Record<
    string,
    { Properties: { Environment?: { Variables: Record<string, unknown> } } }
  >;
  const id = stack.getLogicalId(stack.pipeline.consumerFunction.node.defaultChild as never);
  return resources[id]!.Properties.Environment!.Variables.RECORD_MAP_MAX_BYTES;
};

test('the consumer stores records above defaults.recordMapMaxBytes gzipped unless told otherwise', () => {
  expect(consumerVariable(new TerraIngestStack(newApp(), 'TerraIngest'))).toBe(String(defaults.recordMapMaxBytes));
});

test("recordMapMaxBytes sets the consumer's RECORD_MAP_MAX_BYTES", () => {
  expect(consumerVariable(new TerraIngestStack(newApp(), 'TerraIngest', { recordMapMaxBytes: 307_200 }))).toBe('307200');
});

test('a recordMapMaxBytes no item could hold fails the synth', () => {
  expect(() => new TerraIngestStack(newApp(), 'TerraIngest', { recordMapMaxBytes: 500_000 })).toThrow(
    /recordMapMaxBytes must be a whole number of bytes from 0 to 409600/,
  );
});
