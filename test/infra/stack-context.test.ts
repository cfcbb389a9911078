import { destinations, terraSourceIps } from '../../lambdas/shared/definitions';
import { propsFromContext } from '../../lib/terra-ingest-stack';

/** `cdk deploy -c key=value`: the CLI passes strings, cdk.json may hold booleans, numbers and lists. */
const fromContext = (context: Record<string, unknown>) => propsFromContext((key) => context[key]);
const terraRoleArn = destinations.bucket.terraRoleArn;

const nothingOn = {
  sqsDestination: false,
  s3Destination: false,
  eraseOnDeauth: false,
  tracing: false,
  customerManagedKey: false,
  sourceIpAllowlist: false,
};

test('turns nothing on by default', () => {
  expect(fromContext({})).toEqual(nothingOn);
});

test('turns both destinations on with -c sqsDestination=true -c s3Destination=true', () => {
  expect(fromContext({ sqsDestination: 'true', s3Destination: 'true' })).toEqual({
    ...nothingOn,
    sqsDestination: true,
    s3Destination: true,
  });
});

test('accepts booleans as cdk.json holds them', () => {
  expect(fromContext({ sqsDestination: true, s3Destination: false, eraseOnDeauth: true, tracing: true })).toEqual({
    ...nothingOn,
    sqsDestination: true,
    eraseOnDeauth: true,
    tracing: true,
  });
});

test('passes -c s3DestinationTerraRoleArn to the S3 destination', () => {
  expect(fromContext({ s3Destination: 'true', s3DestinationTerraRoleArn: terraRoleArn })).toEqual({
    ...nothingOn,
    s3Destination: { terraRoleArn },
  });
});

test('refuses a role ARN without the S3 destination', () => {
  expect(() => fromContext({ s3DestinationTerraRoleArn: terraRoleArn })).toThrow(/s3Destination=true/);
});

test('turns erase on deauth on with -c eraseOnDeauth=true', () => {
  expect(fromContext({ eraseOnDeauth: 'true' })).toMatchObject({ eraseOnDeauth: true });
});

test('turns tracing on with -c tracing=true', () => {
  expect(fromContext({ tracing: 'true' })).toEqual({ ...nothingOn, tracing: true });
});

test('turns the customer-managed key on with -c customerManagedKey=true', () => {
  expect(fromContext({ customerManagedKey: 'true' })).toEqual({ ...nothingOn, customerManagedKey: true });
});

test("turns the allowlist of Terra's addresses on with -c sourceIpAllowlist=true", () => {
  expect(fromContext({ sourceIpAllowlist: 'true' })).toEqual({ ...nothingOn, sourceIpAllowlist: true });
});

test('reads -c sourceIpAllowlist=<addresses> as a list of the operator’s own addresses', () => {
  expect(fromContext({ sourceIpAllowlist: '203.0.113.0/24, 2001:db8::1' })).toMatchObject({
    sourceIpAllowlist: ['203.0.113.0/24', '2001:db8::1'],
  });
});

test('takes a list of addresses as cdk.json holds it', () => {
  expect(fromContext({ sourceIpAllowlist: [...terraSourceIps] })).toMatchObject({ sourceIpAllowlist: [...terraSourceIps] });
});

test('reads -c consumerMaxConcurrency=N as a number', () => {
  expect(fromContext({ consumerMaxConcurrency: '25' })).toEqual({ ...nothingOn, consumerMaxConcurrency: 25 });
  expect(fromContext({ consumerMaxConcurrency: 25 })).toMatchObject({ consumerMaxConcurrency: 25 });
});

test('refuses a consumerMaxConcurrency that is not a whole number', () => {
  expect(() => fromContext({ consumerMaxConcurrency: 'ten' })).toThrow(/consumerMaxConcurrency must be a whole number/);
  expect(() => fromContext({ consumerMaxConcurrency: '2.5' })).toThrow(/consumerMaxConcurrency must be a whole number/);
});

test('reads -c recordMapMaxBytes=N as a number, and refuses anything else', () => {
  expect(fromContext({ recordMapMaxBytes: '307200' })).toEqual({ ...nothingOn, recordMapMaxBytes: 307200 });
  expect(() => fromContext({ recordMapMaxBytes: '1KB' })).toThrow(/recordMapMaxBytes must be a whole number/);
});

test.each(['sqsDestination', 'eraseOnDeauth', 'tracing', 'customerManagedKey'])('refuses a %s that is neither true nor false', (key) => {
  expect(() => fromContext({ [key]: 'yes' })).toThrow(new RegExp(`${key} must be true or false`));
});

test('refuses a sourceIpAllowlist that is neither a flag nor addresses', () => {
  expect(() => fromContext({ sourceIpAllowlist: 7 })).toThrow(/sourceIpAllowlist must be true, false or a comma-separated list/);
});

test('subscribes -c alarmEmail=<address> to the alarm topic', () => {
  expect(fromContext({ alarmEmail: 'ops@example.com' })).toEqual({ ...nothingOn, alarmEmail: 'ops@example.com' });
});

test('refuses an alarmEmail that is not an e-mail address', () => {
  expect(() => fromContext({ alarmEmail: 'ops' })).toThrow(/alarmEmail must be an e-mail address/);
  expect(() => fromContext({ alarmEmail: true })).toThrow(/alarmEmail must be an e-mail address/);
});
