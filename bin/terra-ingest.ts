#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { TerraIngestStack } from '../lib/terra-ingest-stack';

const app = new App();

new TerraIngestStack(app, 'TerraIngest', {
  description: 'terra-ingest: receives Terra wearable-data webhooks into DynamoDB',
  // Environment-agnostic: the template deploys to whichever account and region the CLI's
  // profile points at, and synth needs no credentials.
});

// Every finding fails synth unless acknowledged next to the construct that causes it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
