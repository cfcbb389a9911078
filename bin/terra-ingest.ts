#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { destinationsFromContext, TerraIngestStack } from '../lib/terra-ingest-stack';

const app = new App();

new TerraIngestStack(app, 'TerraIngest', {
  description: 'terra-ingest: receives Terra wearable-data webhooks into DynamoDB',
  // Environment-agnostic: the template deploys to whichever account and region the CLI's
  // profile points at, and synth needs no credentials.
  // Terra's SQS and S3 destinations are opt-in:
  // `-c sqsDestination=true -c s3Destination=true [-c s3DestinationTerraRoleArn=arn:…]`;
  // erasing a user on deauth too: `-c eraseOnDeauth=true`.
  ...destinationsFromContext((key) => app.node.tryGetContext(key)),
});

// Every finding fails synth unless acknowledged next to the construct that causes it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
