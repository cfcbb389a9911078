import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';

/** The stack's output names the team tools rely on (see lib/terra-ingest-stack.ts). */
export type StackOutputName =
  | 'WebhookUrl'
  | 'DataTableName'
  | 'UsersTableName'
  | 'EventsTableName'
  | 'SigningSecretName'
  | 'QueueUrl'
  | 'DeadLetterQueueUrl'
  | 'PayloadBucketName'
  | 'DestinationQueueUrl'
  | 'DestinationDeadLetterQueueUrl'
  | 'DestinationBucketName'
  | 'DestinationEventsDeadLetterQueueUrl'
  | 'DestinationUserName'
  | 'ErasureDeadLetterQueueUrl'
  | 'ApiCredentialsSecretName';

/** Reads a deployed stack's outputs with the caller's usual AWS credentials. */
export async function readStackOutputs(stackName: string, region?: string): Promise<(name: StackOutputName) => string> {
  const cloudFormation = new CloudFormationClient({ region });
  try {
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    const outputs = new Map((Stacks?.[0]?.Outputs ?? []).map((output) => [output.OutputKey, output.OutputValue]));
    return (name) => {
      const value = outputs.get(name);
      if (!value) throw new Error(`stack ${stackName} has no output ${name}; was it deployed with this version?`);
      return value;
    };
  } finally {
    cloudFormation.destroy();
  }
}
