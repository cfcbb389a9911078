#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks } from 'cdk-nag';
import { propsFromContext, TerraIngestStack } from '../lib/terra-ingest-stack';

const app = new App();

new TerraIngestStack(app, 'TerraIngest', {
  description: 'terra-ingest: receives Terra wearable-data webhooks into DynamoDB',
  // Environment-agnostic: the template deploys to whichever account and region the CLI's
  // profile points at, and synth needs no credentials.
  // Everything optional is off unless asked for: Terra's SQS and S3 destinations
  // (`-c sqsDestination=true -c s3Destination=true [-c s3DestinationTerraRoleArn=arn:…]`), erasing a
  // user on deauth (`-c eraseOnDeauth=true`), a customer-managed KMS key (`-c customerManagedKey=true`),
  // X-Ray tracing (`-c tracing=true`), the source-address allowlist (`-c sourceIpAllowlist=true` for
  // Terra's published addresses, or a comma-separated list) and the consumer's concurrency per queue
  // (`-c consumerMaxConcurrency=N`).
  ...propsFromContext((key) => app.node.tryGetContext(key)),
});

// Every finding of either pack fails synth unless acknowledged, with its reason, next to the
// construct that causes it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new HIPAASecurityChecks(app));
