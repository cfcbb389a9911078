import { Duration, Stack } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { EventOutcome } from '../../lambdas/consumer/route';
import type { RejectionReason } from '../../lambdas/ingest/metrics';
import { observability } from '../../lambdas/shared/definitions';
import type { SignatureFailure } from '../../lambdas/shared/signature';

/**
 * The README sections an alarm's description sends the operator to. The anchor is GitHub's slug
 * of the title; README.md must carry each title as a heading (a test checks every anchor exists).
 */
export const runbooks = {
  deadLetterQueueNotEmpty: { title: 'Runbook: dead-letter queue not empty', anchor: 'runbook-dead-letter-queue-not-empty' },
  rotatingTheSigningSecret: { title: 'Runbook: rotating the signing secret', anchor: 'runbook-rotating-the-signing-secret' },
  signatureRejectionSpike: { title: 'Runbook: signature-rejection spike', anchor: 'runbook-signature-rejection-spike' },
  consumerFallingBehind: { title: 'Runbook: the consumer falling behind', anchor: 'runbook-the-consumer-falling-behind' },
  keptEvents: { title: 'Runbook: kept events', anchor: 'runbook-kept-events' },
  ingestErrors: { title: 'Runbook: ingest errors', anchor: 'runbook-ingest-errors' },
} as const;

export type Runbook = keyof typeof runbooks;

/** How an alarm description names its runbook: `README.md#<anchor>`. */
export const runbookLink = (runbook: Runbook): string => `README.md#${runbooks[runbook].anchor}`;

/** Every alarm reads its metric in windows of this length; thresholds below count per window. */
export const alarmPeriod = Duration.minutes(5);

/**
 * Default age of the oldest message in a queue the consumer reads before the team hears of it.
 * A healthy consumer takes a message within seconds, so 15 minutes behind is a consumer that has
 * stopped or cannot keep up; it is still far inside Terra's ~24 h of retries and the queues'
 * 14 days of retention, so there is time to act before anything is lost.
 */
export const defaultQueueAgeAlarmSeconds = 900;

/**
 * Default number of deliveries refused for their signature in one 5-minute window. Terra signs
 * every delivery, so its own traffic is refused only when the secret is wrong (then every
 * delivery fails, far beyond this) or a delivery arrives outside the replay window; the public
 * endpoint also sees a trickle of scanners. 50 in 5 minutes (10 a minute) is above that trickle.
 */
export const defaultRejectedSignaturesAlarmThreshold = 50;

/** Alarms that read a count: fire at `threshold` or more in `datapointsToAlarm` of the last `evaluationPeriods` windows. */
export interface CountRule {
  readonly threshold: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
}

/** Fire on the first window at or over the threshold. */
const oneWindow = { evaluationPeriods: 1, datapointsToAlarm: 1 } as const;

export const alarmRules = {
  /** One dead letter is a delivery not stored: always worth a look. */
  deadLetterMessages: { threshold: 1, ...oneWindow },
  /**
   * The consumer reports a failing message alone (partial batch response), so an invocation error
   * is a crash, a timeout or running out of memory: never routine.
   */
  consumerErrors: { threshold: 1, ...oneWindow },
  /** A throttled SQS poll still counts a receive: throttles push messages towards the dead-letter queue. */
  consumerThrottles: { threshold: 1, ...oneWindow },
  /**
   * Terra retries a 5xx for about a day, so one failed request loses nothing; errors in two of
   * three windows are errors that keep coming.
   */
  ingestErrors: { threshold: 1, evaluationPeriods: 3, datapointsToAlarm: 2 },
  /** Until the secret is set and readable every delivery is refused (503, Terra retries). */
  signingSecretUnavailable: { threshold: 1, ...oneWindow },
  /** Each such body is data the tables do not hold as records. */
  eventsKept: { threshold: 1, ...oneWindow },
} as const satisfies Record<string, CountRule>;

// Records keyed by the handlers' own types: a reason or outcome added there fails the type check
// here until the dashboard and the alarms know of it.
const signatureFailures: Record<SignatureFailure, true> = {
  signature_missing: true,
  signature_malformed: true,
  signature_expired: true,
  signature_mismatch: true,
};
const rejectionReasons: Record<RejectionReason, true> = {
  ...signatureFailures,
  source_ip_not_allowed: true,
  signing_secret_unavailable: true,
};
const eventOutcomes: Record<EventOutcome, true> = {
  recorded: true,
  unknown_type: true,
  invalid: true,
  unparseable: true,
  rejected_by_storage: true,
  ping_fetch_failed: true,
  too_large: true,
};

/** The `reason`s of DeliveriesRejected that are a signature check failing. */
export const signatureRejectionReasons = Object.keys(signatureFailures) as SignatureFailure[];
/** Every `reason` of DeliveriesRejected. */
export const allRejectionReasons = Object.keys(rejectionReasons) as RejectionReason[];
/** Every `outcome` of EventsKept. */
export const allEventOutcomes = Object.keys(eventOutcomes) as EventOutcome[];
/** The outcomes alarmed on, as definitions.ts lists them. */
export const alarmedOutcomes: readonly EventOutcome[] = observability.alarmedOutcomes satisfies readonly EventOutcome[];

type MetricName = (typeof observability.metrics)[keyof typeof observability.metrics];

/** A metric a function emits in EMF, under its `service` dimension and any further ones. */
export function terraMetric(
  service: keyof typeof observability.services,
  metricName: MetricName,
  dimensions: Record<string, string> = {},
  options: cloudwatch.MetricOptions = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: observability.namespace,
    metricName,
    dimensionsMap: { service: observability.services[service], ...dimensions },
    statistic: cloudwatch.Stats.SUM,
    period: alarmPeriod,
    ...options,
  });
}

/** A queue of the stack and its dead-letter queue. */
export interface MonitoredQueue {
  /** Names the queue in alarm names and construct ids: letters, digits and hyphens, e.g. `webhook`. */
  readonly name: string;
  /** What waits in the queue, for alarm descriptions, e.g. "verified webhook deliveries". */
  readonly holds: string;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * Seconds every message is held back on purpose before it can be received; added to the age
   * threshold so that the delay alone never alarms.
   * @default 0
   */
  readonly delaySeconds?: number;
}

/** What the alarms and the dashboard watch. */
export interface MonitoredResources {
  /** The webhook's HTTP API. */
  readonly api: apigwv2.IHttpApi;
  /**
   * The API's stage, a dimension of its metrics.
   * @default '$default' (the stage WebhookApi creates)
   */
  readonly apiStageName?: string;
  readonly ingestFunction: lambda.IFunction;
  readonly consumerFunction: lambda.IFunction;
  /**
   * The erase-on-deauth function, shown on the dashboard.
   * @default - none
   */
  readonly eraserFunction?: lambda.IFunction;
  /** Every queue with a dead-letter queue: each dead-letter queue and each queue's age is alarmed on. */
  readonly queues: readonly MonitoredQueue[];
}

export interface AlarmSettings {
  readonly topic: sns.ITopic;
  readonly queueAgeAlarmSeconds: number;
  readonly rejectedSignaturesAlarmThreshold: number;
}

/** The HTTP API's metrics for one stage (HttpApi's own helpers carry the ApiId dimension only). */
export function apiMetric(resources: MonitoredResources, metric: (api: apigwv2.IHttpApi) => cloudwatch.Metric): cloudwatch.Metric {
  const dimensionsMap = { ApiId: resources.api.apiId, Stage: resources.apiStageName ?? '$default' };
  return metric(resources.api).with({ dimensionsMap });
}

/** Deliveries refused for their signature, all reasons summed: one alarm per incident, whatever the reason. */
export function rejectedSignatures(): cloudwatch.MathExpression {
  const usingMetrics = Object.fromEntries(
    signatureRejectionReasons.map((reason) => [reason, terraMetric('ingest', observability.metrics.deliveriesRejected, { reason })]),
  );
  return new cloudwatch.MathExpression({
    // SUM over the array adds what each reason has in a window; a reason with no data adds nothing.
    expression: `SUM([${signatureRejectionReasons.join(', ')}])`,
    usingMetrics,
    label: 'Deliveries rejected for their signature',
    period: alarmPeriod,
  });
}

/** Every alarm of the stack, each notifying `topic` when it fires and when it recovers. */
export function createAlarms(scope: Construct, resources: MonitoredResources, settings: AlarmSettings): cloudwatch.Alarm[] {
  const stackName = Stack.of(scope).stackName;
  const alarms: cloudwatch.Alarm[] = [];
  const alarm = (
    slug: string,
    props: { meaning: string; runbook: Runbook; metric: cloudwatch.IMetric; rule: CountRule; comparison?: cloudwatch.ComparisonOperator },
  ) => {
    if (!/^[a-z0-9-]+$/.test(slug)) throw new Error(`alarm name ${slug}: use lower-case letters, digits and hyphens`);
    const created = new cloudwatch.Alarm(scope, slug, {
      alarmName: `${stackName}-${slug}`,
      alarmDescription: `${props.meaning} Runbook: ${runbookLink(props.runbook)} ("${runbooks[props.runbook].title}").`,
      metric: props.metric,
      threshold: props.rule.threshold,
      evaluationPeriods: props.rule.evaluationPeriods,
      datapointsToAlarm: props.rule.datapointsToAlarm,
      comparisonOperator: props.comparison ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // Every metric here is published only when something happens: no data means nothing went wrong.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    created.addAlarmAction(new SnsAction(settings.topic));
    created.addOkAction(new SnsAction(settings.topic));
    alarms.push(created);
  };

  for (const { name, holds, queue, deadLetterQueue, delaySeconds = 0 } of resources.queues) {
    alarm(`dead-letter-queue-${name}`, {
      meaning: `The ${name} queue's dead-letter queue holds messages: ${holds} that failed every try and are not stored. Fix the cause, then npm run redrive.`,
      runbook: 'deadLetterQueueNotEmpty',
      metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, period: alarmPeriod }),
      rule: alarmRules.deadLetterMessages,
    });
    const maxAgeSeconds = settings.queueAgeAlarmSeconds + delaySeconds;
    alarm(`queue-age-${name}`, {
      meaning: `The oldest message in the ${name} queue (${holds}) has waited more than ${maxAgeSeconds} s: its reader has stopped or cannot keep up.`,
      runbook: 'consumerFallingBehind',
      metric: queue.metricApproximateAgeOfOldestMessage({ statistic: cloudwatch.Stats.MAXIMUM, period: alarmPeriod }),
      rule: { threshold: maxAgeSeconds, ...oneWindow },
      comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
  }

  alarm('consumer-errors', {
    meaning:
      'Consumer invocations failed as a whole (crash, timeout or out of memory); their messages go back to the queue and towards its dead-letter queue.',
    runbook: 'consumerFallingBehind',
    metric: resources.consumerFunction.metricErrors({ statistic: cloudwatch.Stats.SUM, period: alarmPeriod }),
    rule: alarmRules.consumerErrors,
  });
  alarm('consumer-throttles', {
    meaning: 'Consumer invocations were throttled (concurrency exhausted); every throttled receive counts towards the dead-letter queue.',
    runbook: 'consumerFallingBehind',
    metric: resources.consumerFunction.metricThrottles({ statistic: cloudwatch.Stats.SUM, period: alarmPeriod }),
    rule: alarmRules.consumerThrottles,
  });

  alarm('ingest-5xx', {
    meaning: 'The webhook answered 5xx (API Gateway): Terra retries for about a day, nothing is stored meanwhile.',
    runbook: 'ingestErrors',
    metric: apiMetric(resources, (api) => api.metricServerError({ statistic: cloudwatch.Stats.SUM, period: alarmPeriod })),
    rule: alarmRules.ingestErrors,
  });
  alarm('ingest-errors', {
    meaning: 'The ingest function failed (crash or timeout): the webhook answered 5xx and Terra retries.',
    runbook: 'ingestErrors',
    metric: resources.ingestFunction.metricErrors({ statistic: cloudwatch.Stats.SUM, period: alarmPeriod }),
    rule: alarmRules.ingestErrors,
  });

  alarm('signature-rejections', {
    meaning:
      `${settings.rejectedSignaturesAlarmThreshold} or more deliveries in 5 minutes were refused for their signature ` +
      `(${signatureRejectionReasons.join(', ')}): a wrong or half-rotated signing secret, a clock off, or forged traffic.`,
    runbook: 'signatureRejectionSpike',
    metric: rejectedSignatures(),
    rule: { threshold: settings.rejectedSignaturesAlarmThreshold, ...oneWindow },
  });
  alarm('signing-secret-unavailable', {
    meaning: 'Deliveries were refused with 503 signing_secret_unavailable: the signing secret is not set or cannot be read. Terra retries.',
    runbook: 'rotatingTheSigningSecret',
    metric: terraMetric('ingest', observability.metrics.deliveriesRejected, {
      reason: 'signing_secret_unavailable' satisfies RejectionReason,
    }),
    rule: alarmRules.signingSecretUnavailable,
  });

  for (const outcome of alarmedOutcomes) {
    alarm(`events-kept-${outcome.replaceAll('_', '-')}`, {
      meaning: `The consumer kept bodies in terra-events as ${outcome} instead of storing records: npm run inspect -- --events.`,
      runbook: 'keptEvents',
      metric: terraMetric('consumer', observability.metrics.eventsKept, { outcome }),
      rule: alarmRules.eventsKept,
    });
  }
  return alarms;
}
