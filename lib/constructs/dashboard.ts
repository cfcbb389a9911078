import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { observability } from '../../lambdas/shared/definitions';
import { alarmPeriod, allEventOutcomes, allRejectionReasons, apiMetric, terraMetric, type MonitoredResources } from './alarms';

const { metrics } = observability;
const width = 8;
const height = 6;

const graph = (title: string, left: cloudwatch.IMetric[], extra: Partial<cloudwatch.GraphWidgetProps> = {}) =>
  new cloudwatch.GraphWidget({ title, left, width, height, period: alarmPeriod, ...extra });

/** Each function of the stack under a short label. */
function functionsOf(resources: MonitoredResources): [string, lambda.IFunction][] {
  return [
    ['ingest', resources.ingestFunction],
    ['consumer', resources.consumerFunction],
    ...(resources.eraserFunction ? [['eraser', resources.eraserFunction] as [string, lambda.IFunction]] : []),
  ];
}

/**
 * One page for the whole pipeline, in the order a delivery travels: the alarms, the webhook
 * (deliveries, latency, responses), the queues, the consumer's results, then the functions.
 */
export function createDashboard(
  scope: Construct,
  resources: MonitoredResources,
  options: { alarms: cloudwatch.IAlarm[]; queueAgeAlarmSeconds: number },
): cloudwatch.Dashboard {
  const stack = Stack.of(scope);
  const functions = functionsOf(resources);
  const perQueue = (metric: (queue: MonitoredResources['queues'][number]) => cloudwatch.Metric) =>
    resources.queues.map((queue) => metric(queue).with({ label: queue.name, statistic: cloudwatch.Stats.MAXIMUM, period: alarmPeriod }));
  const perFunction = (label: string, metric: (fn: lambda.IFunction) => cloudwatch.Metric) =>
    functions.map(([name, fn]) => metric(fn).with({ label: `${name} ${label}`.trim(), period: alarmPeriod }));

  const webhook: cloudwatch.IWidget[] = [
    graph('Deliveries accepted and rejected, by reason', [
      terraMetric('ingest', metrics.deliveriesAccepted, {}, { label: 'accepted' }),
      ...allRejectionReasons.map((reason) =>
        terraMetric('ingest', metrics.deliveriesRejected, { reason }, { label: `rejected: ${reason}` }),
      ),
    ]),
    graph('Acknowledgement latency (ms)', [
      apiMetric(resources, (api) => api.metricLatency({ statistic: 'p50', label: 'API p50' })),
      apiMetric(resources, (api) => api.metricLatency({ statistic: 'p99', label: 'API p99' })),
      resources.ingestFunction.metricDuration({ statistic: 'p50', label: 'ingest function p50' }),
      resources.ingestFunction.metricDuration({ statistic: 'p99', label: 'ingest function p99' }),
    ]),
    graph('Webhook responses and claim checks', [
      apiMetric(resources, (api) => api.metricCount({ label: 'requests' })),
      apiMetric(resources, (api) => api.metricClientError({ label: '4xx' })),
      apiMetric(resources, (api) => api.metricServerError({ label: '5xx' })),
      terraMetric('ingest', metrics.claimChecked, {}, { label: 'claim-checked (put in S3 first)' }),
      terraMetric('ingest', metrics.enqueueFailed, {}, { label: 'enqueue failed (503)' }),
    ]),
  ];

  const queues: cloudwatch.IWidget[] = [
    graph(
      'Queue depth (messages visible)',
      perQueue(({ queue }) => queue.metricApproximateNumberOfMessagesVisible()),
    ),
    graph(
      'Age of the oldest message (s)',
      perQueue(({ queue }) => queue.metricApproximateAgeOfOldestMessage()),
      {
        leftAnnotations: [{ value: options.queueAgeAlarmSeconds, label: 'alarm', color: cloudwatch.Color.RED }],
      },
    ),
    graph(
      'Dead-letter queue depth',
      perQueue(({ deadLetterQueue }) => deadLetterQueue.metricApproximateNumberOfMessagesVisible()),
      {
        leftAnnotations: [{ value: 1, label: 'alarm', color: cloudwatch.Color.RED }],
      },
    ),
  ];

  const consumer: cloudwatch.IWidget[] = [
    graph('Records written and stale copies skipped', [
      terraMetric('consumer', metrics.itemsWritten, {}, { label: 'items written' }),
      terraMetric('consumer', metrics.staleOrRepeatedSkipped, {}, { label: 'stale or repeated copies skipped' }),
    ]),
    graph(
      'Events kept, by outcome',
      allEventOutcomes.map((outcome) => terraMetric('consumer', metrics.eventsKept, { outcome }, { label: outcome })),
    ),
    graph('Ping-mode downloads failed', [
      terraMetric('consumer', metrics.pingDownloadFailures, {}, { label: 'download failures (retried or not)' }),
    ]),
  ];

  const lambdas: cloudwatch.IWidget[] = [
    graph('Lambda duration (ms)', [
      ...perFunction('p50', (fn) => fn.metricDuration({ statistic: 'p50' })),
      ...perFunction('p99', (fn) => fn.metricDuration({ statistic: 'p99' })),
    ]),
    graph('Lambda errors and throttles', [
      ...perFunction('errors', (fn) => fn.metricErrors({ statistic: cloudwatch.Stats.SUM })),
      ...perFunction('throttles', (fn) => fn.metricThrottles({ statistic: cloudwatch.Stats.SUM })),
    ]),
    graph(
      'Lambda concurrency (max)',
      perFunction('', (fn) => fn.metric('ConcurrentExecutions', { statistic: cloudwatch.Stats.MAXIMUM })),
    ),
  ];

  return new cloudwatch.Dashboard(scope, 'Dashboard', {
    // Dashboard names are unique per account, across regions.
    dashboardName: `${stack.stackName}-${stack.region}`,
    defaultInterval: Duration.days(1),
    widgets: [
      [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: options.alarms, width: 3 * width, height: 4 })],
      webhook,
      queues,
      consumer,
      lambdas,
    ],
  });
}
