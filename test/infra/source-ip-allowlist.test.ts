import { Match, Template } from 'aws-cdk-lib/assertions';
import { observability, terraSourceIps } from '../../lambdas/shared/definitions';
import { isAddressOrCidr } from '../../lib/constructs/source-ip-allowlist';
import { TerraIngestStack, type TerraIngestStackProps } from '../../lib/terra-ingest-stack';
import { newApp } from '../support/cdk';

/** The ingest function's environment in a stack with `props`. */
function ingestEnvironment(props: TerraIngestStackProps): Record<string, unknown> {
  const stack = new TerraIngestStack(newApp(), 'TerraIngest', props);
  const resources = Template.fromStack(stack).toJSON().Resources;
  return resources[stack.getLogicalId(stack.webhook.ingestFunction.node.defaultChild as never)].Properties.Environment.Variables;
}

test('is off by default: the ingest function gets no ALLOWED_SOURCE_IPS', () => {
  expect(ingestEnvironment({})).not.toHaveProperty('ALLOWED_SOURCE_IPS');
});

test('is off with sourceIpAllowlist: false', () => {
  expect(ingestEnvironment({ sourceIpAllowlist: false })).not.toHaveProperty('ALLOWED_SOURCE_IPS');
});

test("true admits Terra's published addresses, comma-separated", () => {
  expect(ingestEnvironment({ sourceIpAllowlist: true }).ALLOWED_SOURCE_IPS).toBe(terraSourceIps.join(','));
});

test("a list admits the operator's own addresses and CIDR blocks, IPv4 and IPv6", () => {
  const own = ['203.0.113.0/24', '198.51.100.7', '2001:db8::/32', '2001:db8::1'];
  Template.fromStack(new TerraIngestStack(newApp(), 'TerraIngest', { sourceIpAllowlist: own })).hasResourceProperties(
    'AWS::Lambda::Function',
    {
      Environment: {
        Variables: Match.objectLike({ ALLOWED_SOURCE_IPS: own.join(','), POWERTOOLS_SERVICE_NAME: observability.services.ingest }),
      },
    },
  );
});

test('only the ingest function is given the allowlist', () => {
  const stack = new TerraIngestStack(newApp(), 'TerraIngest', { sourceIpAllowlist: true, eraseOnDeauth: true });
  const functions = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
  const withList = functions.filter((fn) => fn.Properties.Environment?.Variables?.ALLOWED_SOURCE_IPS !== undefined);
  expect(withList.map((fn) => fn.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME)).toEqual([observability.services.ingest]);
});

test.each([['203.0.113.300'], ['terra.example'], ['10.0.0.0/33'], ['2001:db8::/129'], ['10.0.0.0/8/8'], ['10.0.0.1,10.0.0.2'], ['']])(
  'refuses %p at synth',
  (entry) => {
    expect(() => new TerraIngestStack(newApp(), 'TerraIngest', { sourceIpAllowlist: ['198.51.100.7', entry] })).toThrow(
      /sourceIpAllowlist entries must be IPv4 or IPv6 addresses or CIDR blocks/,
    );
  },
);

test('refuses an empty list, which the function would read as no allowlist at all', () => {
  expect(() => new TerraIngestStack(newApp(), 'TerraIngest', { sourceIpAllowlist: [] })).toThrow(/lists no address; use false/);
});

test.each(['0.0.0.0/0', '18.133.218.210', '18.133.218.210/32', '::/0', '::ffff:18.133.218.210', 'fe80::1/64'])(
  'takes %p as an address or CIDR block',
  (entry) => {
    expect(isAddressOrCidr(entry)).toBe(true);
  },
);

test("Terra's published addresses all parse", () => {
  expect(terraSourceIps.filter((address) => !isAddressOrCidr(address))).toEqual([]);
});
