import { ArnFormat, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { erasure } from '../../lambdas/shared/definitions';
import {
  createAlarms,
  defaultQueueAgeAlarmSeconds,
  defaultRejectedSignaturesAlarmThreshold,
  type MonitoredQueue,
  type MonitoredResources,
} from './alarms';
import { createDashboard } from './dashboard';
import { allowOnKey } from './encryption-key';
import type { EraseOnDeauth } from './eraser';
import type { IngestPipeline } from './pipeline';
import type { TerraDestinations } from './terra-destinations';
import type { WebhookApi } from './webhook-api';

export { defaultQueueAgeAlarmSeconds, defaultRejectedSignaturesAlarmThreshold, runbooks, runbookLink } from './alarms';
export type { MonitoredQueue, MonitoredResources } from './alarms';

export interface TerraMonitoringProps extends MonitoredResources {
  /**
   * An address subscribed to the alarm topic by e-mail; AWS sends it a confirmation link first.
   * @default - no subscription: subscribe to the topic (`alarmTopic`) yourself
   */
  readonly alarmEmail?: string;
  /**
   * Age in seconds of the oldest message in a queue the consumer reads before its alarm fires
   * (the erasure queue adds its deliberate delay).
   * @default defaultQueueAgeAlarmSeconds (900)
   */
  readonly queueAgeAlarmSeconds?: number;
  /**
   * Deliveries refused for their signature, all signature reasons together, in 5 minutes before
   * the alarm fires.
   * @default defaultRejectedSignaturesAlarmThreshold (50)
   */
  readonly rejectedSignaturesAlarmThreshold?: number;
  /**
   * Customer-managed key for the alarm topic (the stack's `encryptionKey`); its policy gains a
   * statement letting CloudWatch (alarms of this account and region) use it. An imported key's
   * policy must already allow that: synth warns with the statement.
   * @default - the topic is not encrypted: CloudWatch cannot publish to a topic under the
   * AWS-managed key `alias/aws/sns`, and alarm notifications carry no wearable data
   */
  readonly encryptionKey?: kms.IKey;
}

/** The monitoring props a stack exposes as its own (the rest it fills in from its resources). */
export type MonitoringOptions = Pick<TerraMonitoringProps, 'alarmEmail' | 'queueAgeAlarmSeconds' | 'rejectedSignaturesAlarmThreshold'>;

/**
 * The stack's alarms, each notifying one SNS topic when it fires and when it recovers, and one
 * CloudWatch dashboard. Every alarm's description says what it means and names the README
 * runbook to follow.
 */
export class TerraMonitoring extends Construct {
  readonly alarmTopic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: TerraMonitoringProps) {
    super(scope, id);
    const queueAgeAlarmSeconds = wholeNumber('queueAgeAlarmSeconds', props.queueAgeAlarmSeconds ?? defaultQueueAgeAlarmSeconds);
    const rejectedSignaturesAlarmThreshold = wholeNumber(
      'rejectedSignaturesAlarmThreshold',
      props.rejectedSignaturesAlarmThreshold ?? defaultRejectedSignaturesAlarmThreshold,
    );

    this.alarmTopic = this.createTopic(props.encryptionKey);
    if (props.alarmEmail !== undefined) {
      if (!Token.isUnresolved(props.alarmEmail) && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.alarmEmail)) {
        throw new Error(`alarmEmail must be an e-mail address; got ${JSON.stringify(props.alarmEmail)}`);
      }
      this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    }

    this.alarms = createAlarms(this, props, { topic: this.alarmTopic, queueAgeAlarmSeconds, rejectedSignaturesAlarmThreshold });
    this.dashboard = createDashboard(this, props, { alarms: this.alarms, queueAgeAlarmSeconds });
  }

  private createTopic(encryptionKey: kms.IKey | undefined): sns.Topic {
    const stack = Stack.of(this);
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `${stack.stackName} alarms`,
      enforceSSL: true,
      masterKey: encryptionKey,
    });
    // Alarms of this account and region only, so no other account's alarm can use the topic or the key.
    const fromOurAlarms = {
      ArnLike: {
        'aws:SourceArn': stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: '*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
      StringEquals: { 'aws:SourceAccount': stack.account },
    };
    const cloudWatch = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    // enforceSSL replaces SNS's default policy, so CloudWatch is allowed explicitly.
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [cloudWatch],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: fromOurAlarms,
      }),
    );

    if (encryptionKey) {
      // An imported key cannot be changed here: synth then warns with the statement its policy must hold.
      allowOnKey(
        encryptionKey,
        new iam.PolicyStatement({
          principals: [cloudWatch],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: ['*'],
          conditions: fromOurAlarms,
        }),
      );
    } else {
      const reason =
        'CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed key alias/aws/sns, and alarm ' +
        'notifications carry alarm names and metric values, no wearable data; pass encryptionKey for a customer-managed key';
      // AwsSolutions-SNS2 is the same finding in cdk-nag versions that have it.
      for (const id of ['AwsSolutions-SNS2', 'HIPAA.Security-SNSEncryptedKMS']) Validations.of(topic).acknowledge({ id, reason });
    }
    return topic;
  }
}

function wholeNumber(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number of at least 1; got ${value}`);
  return value;
}

/**
 * What TerraIngestStack has to watch: the webhook, the consumer, and every queue with its
 * dead-letter queue, the optional destinations' and the erasure queue included when they exist.
 */
export function monitoredResourcesOf(parts: {
  readonly webhook: WebhookApi;
  readonly pipeline: IngestPipeline;
  readonly destinations?: TerraDestinations;
  readonly eraseOnDeauth?: EraseOnDeauth;
}): MonitoredResources {
  const { webhook, pipeline, destinations, eraseOnDeauth } = parts;
  const queues: MonitoredQueue[] = [
    { name: 'webhook', holds: 'verified webhook deliveries', ...pick(pipeline) },
    ...(destinations?.sqs ? [{ name: 'sqs-destination', holds: "messages from Terra's SQS destination", ...pick(destinations.sqs) }] : []),
    ...(destinations?.s3
      ? [
          {
            name: 's3-destination',
            holds: "notifications of objects in Terra's S3 destination bucket",
            ...pick(destinations.s3.notifications),
          },
        ]
      : []),
    ...(eraseOnDeauth
      ? [{ name: 'erasure', holds: 'erase-on-deauth requests', ...pick(eraseOnDeauth), delaySeconds: erasure.delaySeconds }]
      : []),
  ];
  return {
    api: webhook.api,
    ingestFunction: webhook.ingestFunction,
    consumerFunction: pipeline.consumerFunction,
    eraserFunction: eraseOnDeauth?.eraserFunction,
    queues,
  };
}

const pick = ({ queue, deadLetterQueue }: Pick<MonitoredQueue, 'queue' | 'deadLetterQueue'>) => ({ queue, deadLetterQueue });
