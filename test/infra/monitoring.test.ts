import { CfnResource } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks, HIPAASecurityChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { erasure, observability } from '../../lambdas/shared/definitions';
import { alarmRules, allEventOutcomes, allRejectionReasons, signatureRejectionReasons } from '../../lib/constructs/alarms';
import {
  defaultQueueAgeAlarmSeconds,
  defaultRejectedSignaturesAlarmThreshold,
  type MonitoringOptions,
  runbooks,
} from '../../lib/constructs/monitoring';
import { TerraIngestStack, type TerraIngestStackProps } from '../../lib/terra-ingest-stack';
import { newApp, type Resources } from '../support/cdk';

/**
 * The real stack, monitoring included as the stack wires it. `template` holds the monitoring
 * construct's resources only, so that nothing else in the stack can satisfy an assertion about them.
 */
function monitored(stackProps: TerraIngestStackProps = {}, monitoringProps: MonitoringOptions = {}) {
  const app = newApp();
  const stack = new TerraIngestStack(app, 'TerraIngest', { ...stackProps, ...monitoringProps });
  const { monitoring } = stack;
  const id = (construct: IConstruct) => stack.getLogicalId((construct.node.defaultChild ?? construct) as CfnResource);
  const own = new Set(
    monitoring.node
      .findAll()
      .filter(CfnResource.isCfnResource)
      .map((resource) => stack.getLogicalId(resource)),
  );
  const all = Template.fromStack(stack).toJSON();
  const resources: Resources = Object.fromEntries(Object.entries(all.Resources as Resources).filter(([logicalId]) => own.has(logicalId)));
  return {
    app,
    stack,
    monitoring,
    id,
    resources,
    allResources: all.Resources as Resources,
    template: Template.fromJSON({ Resources: resources }),
    props: monitoringProps,
    topicId: id(monitoring.alarmTopic),
  };
}

const byDefault = monitored();
const everything = monitored({ sqsDestination: true, s3Destination: true, eraseOnDeauth: true }, { alarmEmail: 'ops@example.com' });
const alarmsOf = (v: { resources: Resources }) => Object.values(v.resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
const queueName = (logicalId: string) => [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId, 'QueueName'] } }];
const functionName = (logicalId: string) => [{ Name: 'FunctionName', Value: { Ref: logicalId } }];

describe('dead-letter queue alarms', () => {
  const { stack, id } = everything;
  const deadLetterQueues = [
    ['webhook', stack.pipeline.deadLetterQueue],
    ['SQS destination', stack.destinations!.sqs!.deadLetterQueue],
    ['S3 destination events', stack.destinations!.s3!.notifications.deadLetterQueue],
    ['erasure', stack.eraseOnDeauth!.deadLetterQueue],
  ] as const;

  test.each(deadLetterQueues)('the %s dead-letter queue alarms on its first visible message', (_name, queue) => {
    everything.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: queueName(id(queue)),
      Statistic: 'Maximum',
      Threshold: alarmRules.deadLetterMessages.threshold,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  test('without the optional destinations and erase-on-deauth, only the webhook dead-letter queue is alarmed on', () => {
    const visible = alarmsOf(byDefault).filter((alarm) => alarm.Properties.MetricName === 'ApproximateNumberOfMessagesVisible');
    expect(visible.map((alarm) => alarm.Properties.Dimensions)).toEqual([
      queueName(byDefault.id(byDefault.stack.pipeline.deadLetterQueue)),
    ]);
  });
});

describe('queue age alarms', () => {
  const ageAlarm = (queueId: string, threshold: number) => ({
    Namespace: 'AWS/SQS',
    MetricName: 'ApproximateAgeOfOldestMessage',
    Dimensions: queueName(queueId),
    Statistic: 'Maximum',
    Threshold: threshold,
    ComparisonOperator: 'GreaterThanThreshold',
    TreatMissingData: 'notBreaching',
  });

  test('fire above defaultQueueAgeAlarmSeconds by default', () => {
    byDefault.template.hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      ageAlarm(byDefault.id(byDefault.stack.pipeline.queue), defaultQueueAgeAlarmSeconds),
    );
  });

  test('take their threshold from queueAgeAlarmSeconds', () => {
    const v = monitored({ sqsDestination: true }, { queueAgeAlarmSeconds: 1234 });
    v.template.hasResourceProperties('AWS::CloudWatch::Alarm', ageAlarm(v.id(v.stack.pipeline.queue), 1234));
    v.template.hasResourceProperties('AWS::CloudWatch::Alarm', ageAlarm(v.id(v.stack.destinations!.sqs!.queue), 1234));
  });

  test('the erasure queue adds its deliberate delay, so waiting out the delay never alarms', () => {
    const { template, id, stack } = everything;
    template.hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      ageAlarm(id(stack.eraseOnDeauth!.queue), defaultQueueAgeAlarmSeconds + erasure.delaySeconds),
    );
  });
});

describe('function alarms', () => {
  const { template, id, stack } = byDefault;
  const lambdaAlarm = (metricName: string, functionId: string, rule: { threshold: number }) => ({
    Namespace: 'AWS/Lambda',
    MetricName: metricName,
    Dimensions: functionName(functionId),
    Statistic: 'Sum',
    Threshold: rule.threshold,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    TreatMissingData: 'notBreaching',
  });

  test('consumer errors', () => {
    template.hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      lambdaAlarm('Errors', id(stack.pipeline.consumerFunction), alarmRules.consumerErrors),
    );
  });

  test('consumer throttles', () => {
    template.hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      lambdaAlarm('Throttles', id(stack.pipeline.consumerFunction), alarmRules.consumerThrottles),
    );
  });

  test('ingest function errors, in two of three windows', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...lambdaAlarm('Errors', id(stack.webhook.ingestFunction), alarmRules.ingestErrors),
      EvaluationPeriods: alarmRules.ingestErrors.evaluationPeriods,
      DatapointsToAlarm: alarmRules.ingestErrors.datapointsToAlarm,
    });
  });

  test("the HTTP API's 5xx on its $default stage, in two of three windows", () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Dimensions: [
        { Name: 'ApiId', Value: { Ref: id(stack.webhook.api) } },
        { Name: 'Stage', Value: '$default' },
      ],
      Statistic: 'Sum',
      Threshold: alarmRules.ingestErrors.threshold,
      EvaluationPeriods: alarmRules.ingestErrors.evaluationPeriods,
      DatapointsToAlarm: alarmRules.ingestErrors.datapointsToAlarm,
      TreatMissingData: 'notBreaching',
    });
  });
});

describe('ingest metric alarms', () => {
  const rejected = (reason: string) =>
    Match.objectLike({
      Id: reason,
      ReturnData: false,
      MetricStat: {
        Metric: {
          Namespace: observability.namespace,
          MetricName: observability.metrics.deliveriesRejected,
          Dimensions: [
            { Name: 'reason', Value: reason },
            { Name: 'service', Value: observability.services.ingest },
          ],
        },
        Period: 300,
        Stat: 'Sum',
      },
    });
  const spike = (threshold: number) => ({
    Metrics: Match.arrayWith([
      Match.objectLike({ Expression: `SUM([${signatureRejectionReasons.join(', ')}])` }),
      ...signatureRejectionReasons.map(rejected),
    ]),
    Threshold: threshold,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    TreatMissingData: 'notBreaching',
  });

  test('a spike of rejected signatures sums every signature reason, at defaultRejectedSignaturesAlarmThreshold by default', () => {
    byDefault.template.hasResourceProperties('AWS::CloudWatch::Alarm', spike(defaultRejectedSignaturesAlarmThreshold));
  });

  test('the spike threshold comes from rejectedSignaturesAlarmThreshold', () => {
    monitored({}, { rejectedSignaturesAlarmThreshold: 7 }).template.hasResourceProperties('AWS::CloudWatch::Alarm', spike(7));
  });

  test('the signature reasons summed are the signature failures, not the IP allowlist or a missing secret', () => {
    expect(signatureRejectionReasons.sort()).toEqual(allRejectionReasons.filter((reason) => reason.startsWith('signature_')).sort());
  });

  test('deliveries refused because the signing secret is unavailable', () => {
    byDefault.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: observability.namespace,
      MetricName: observability.metrics.deliveriesRejected,
      Dimensions: [
        { Name: 'reason', Value: 'signing_secret_unavailable' },
        { Name: 'service', Value: observability.services.ingest },
      ],
      Threshold: alarmRules.signingSecretUnavailable.threshold,
      TreatMissingData: 'notBreaching',
    });
  });
});

describe('kept-event alarms', () => {
  test.each([...observability.alarmedOutcomes])('EventsKept with outcome %s', (outcome) => {
    byDefault.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: observability.namespace,
      MetricName: observability.metrics.eventsKept,
      Dimensions: [
        { Name: 'outcome', Value: outcome },
        { Name: 'service', Value: observability.services.consumer },
      ],
      Statistic: 'Sum',
      Threshold: alarmRules.eventsKept.threshold,
      TreatMissingData: 'notBreaching',
    });
  });

  test('no other outcome is alarmed on', () => {
    const outcomes = alarmsOf(byDefault)
      .filter((alarm) => alarm.Properties.MetricName === observability.metrics.eventsKept)
      .map((alarm) => alarm.Properties.Dimensions.find((d: { Name: string }) => d.Name === 'outcome').Value);
    expect(outcomes.sort()).toEqual([...observability.alarmedOutcomes].sort());
  });
});

describe('every alarm', () => {
  test('notifies the topic when it fires and when it recovers', () => {
    const { template, topicId } = everything;
    template.allResourcesProperties('AWS::CloudWatch::Alarm', { AlarmActions: [{ Ref: topicId }], OKActions: [{ Ref: topicId }] });
  });

  test("names in its description one of the runbooks' anchors", () => {
    const anchors: string[] = Object.values(runbooks).map((runbook) => runbook.anchor);
    const withoutRunbook = alarmsOf(everything)
      .filter((alarm) => !anchors.includes(/README\.md#([a-z0-9-]+)/.exec(alarm.Properties.AlarmDescription)?.[1] ?? ''))
      .map((alarm) => alarm.Properties.AlarmName);
    expect(withoutRunbook).toEqual([]);
  });

  test('has a name under the stack name, unique in the stack', () => {
    const names = alarmsOf(everything).map((alarm) => alarm.Properties.AlarmName);
    expect(names.every((name) => name.startsWith('TerraIngest-'))).toBe(true);
    expect(new Set(names).size).toBe(names.length);
  });
});

test("each runbook anchor is GitHub's slug of its title", () => {
  const slug = (title: string) =>
    title
      .toLowerCase()
      .replace(/[^a-z0-9 -]/g, '')
      .replaceAll(' ', '-');
  for (const { title, anchor } of Object.values(runbooks)) expect(anchor).toBe(slug(title));
});

describe('alarm topic', () => {
  test('has an e-mail subscription when alarmEmail is given', () => {
    everything.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: everything.topicId },
    });
  });

  test('has no subscription without alarmEmail', () => {
    byDefault.template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  test('refuses an alarmEmail that is not an address', () => {
    expect(() => monitored({}, { alarmEmail: 'ops at example.com' })).toThrow(/alarmEmail must be an e-mail address/);
  });

  test('refuses publishing without TLS', () => {
    byDefault.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: byDefault.topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Principal: '*',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  test("lets CloudWatch publish, for this account's alarms only", () => {
    byDefault.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: byDefault.topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: {
              ArnLike: { 'aws:SourceArn': Match.anyValue() },
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            },
          }),
        ]),
      },
    });
  });

  test('is not encrypted without encryptionKey (CloudWatch cannot publish under alias/aws/sns)', () => {
    byDefault.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.absent() });
  });

  describe("with encryptionKey (the stack's customer-managed key)", () => {
    const v = monitored({ customerManagedKey: true });
    const keyId = v.id(v.stack.encryptionKey!);

    test('the topic uses it', () => {
      v.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    });

    test("its policy lets CloudWatch use it, for this account's alarms only", () => {
      expect(v.allResources[keyId]!.Properties.KeyPolicy.Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Condition: expect.objectContaining({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
        }),
      );
    });

    test('passes the cdk-nag AwsSolutions and HIPAA checks', () => {
      expect(findingsOn(v)).toEqual([]);
    });
  });
});

describe('dashboard', () => {
  /** The dashboard's widgets, with each CloudFormation token of the body put back where it stood. */
  function widgetsOf(v: { resources: Resources }): { type: string; properties: { title?: string; metrics?: unknown[][] } }[] {
    const [dashboard] = Object.values(v.resources).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard');
    const tokens: unknown[] = [];
    const parts: unknown[] = dashboard!.Properties.DashboardBody['Fn::Join'][1];
    const text = parts.map((part) => (typeof part === 'string' ? part : `@@token${tokens.push(part) - 1}@@`)).join('');
    return JSON.parse(text, (_key, value) => {
      const token = typeof value === 'string' ? /^@@token(\d+)@@$/.exec(value) : null;
      return token ? tokens[Number(token[1])] : value;
    }).widgets;
  }
  /** `namespace/metric` of every metric graphed, with its dimensions. */
  const graphed = (v: { resources: Resources }) =>
    widgetsOf(v).flatMap((widget) =>
      (widget.properties.metrics ?? []).map((line) => {
        const [namespace, metricName, ...rest] = line;
        const dimensions = rest.filter((item) => typeof item !== 'object' || (item !== null && !('stat' in item) && !('label' in item)));
        const options = rest.find((item) => typeof item === 'object' && item !== null && ('stat' in item || 'label' in item)) as {
          stat?: string;
        };
        return { metric: `${namespace}/${metricName}`, dimensions, stat: options?.stat, widget: widget.properties.title };
      }),
    );

  test('is one dashboard', () => {
    everything.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  test('graphs every metric the issue asks for', () => {
    const metrics = new Set(graphed(everything).map((line) => line.metric));
    const ns = observability.namespace;
    const required = [
      `${ns}/${observability.metrics.deliveriesAccepted}`,
      `${ns}/${observability.metrics.deliveriesRejected}`,
      'AWS/ApiGateway/Latency',
      'AWS/SQS/ApproximateNumberOfMessagesVisible',
      'AWS/SQS/ApproximateAgeOfOldestMessage',
      `${ns}/${observability.metrics.itemsWritten}`,
      `${ns}/${observability.metrics.staleOrRepeatedSkipped}`,
      `${ns}/${observability.metrics.eventsKept}`,
      'AWS/Lambda/Duration',
      'AWS/Lambda/Errors',
      'AWS/Lambda/ConcurrentExecutions',
    ];
    expect(required.filter((metric) => !metrics.has(metric))).toEqual([]);
  });

  test('breaks rejected deliveries down by every reason', () => {
    const reasons = graphed(byDefault)
      .filter((line) => line.metric === `${observability.namespace}/${observability.metrics.deliveriesRejected}`)
      .map((line) => line.dimensions[line.dimensions.indexOf('reason') + 1]);
    expect(reasons.sort()).toEqual([...allRejectionReasons].sort());
  });

  test('breaks kept events down by every outcome', () => {
    const outcomes = graphed(byDefault)
      .filter((line) => line.metric === `${observability.namespace}/${observability.metrics.eventsKept}`)
      .map((line) => line.dimensions[line.dimensions.indexOf('outcome') + 1]);
    expect(outcomes.sort()).toEqual([...allEventOutcomes].sort());
  });

  test('shows acknowledgement latency at p50 and p99', () => {
    const stats = graphed(byDefault)
      .filter((line) => line.metric === 'AWS/ApiGateway/Latency')
      .map((line) => line.stat);
    expect(stats.sort()).toEqual(['p50', 'p99']);
  });

  test('shows the depth of every dead-letter queue, the optional ones included', () => {
    const { stack, id } = everything;
    const deadLetterQueues = [
      stack.pipeline.deadLetterQueue,
      stack.destinations!.sqs!.deadLetterQueue,
      stack.destinations!.s3!.notifications.deadLetterQueue,
      stack.eraseOnDeauth!.deadLetterQueue,
    ];
    const shown = graphed(everything)
      .filter((line) => line.widget === 'Dead-letter queue depth' && line.metric === 'AWS/SQS/ApproximateNumberOfMessagesVisible')
      .map((line) => line.dimensions[1]);
    expect(shown).toEqual(deadLetterQueues.map((queue) => ({ 'Fn::GetAtt': [id(queue), 'QueueName'] })));
  });

  test('shows every function of the stack, the eraser included when it exists', () => {
    const { stack, id } = everything;
    const functions = [stack.webhook.ingestFunction, stack.pipeline.consumerFunction, stack.eraseOnDeauth!.eraserFunction];
    const shown = graphed(everything)
      .filter((line) => line.metric === 'AWS/Lambda/ConcurrentExecutions')
      .map((line) => line.dimensions[1]);
    expect(shown).toEqual(functions.map((fn) => ({ Ref: id(fn) })));
  });
});

/** cdk-nag findings (AwsSolutions and HIPAA) on the monitoring construct's resources. */
function findingsOn(v: { app: ReturnType<typeof newApp>; monitoring: TerraIngestStack['monitoring'] }): string[] {
  const under = `${v.monitoring.node.path}/`;
  return [new AwsSolutionsChecks(v.app), new HIPAASecurityChecks(v.app)].flatMap((pack) =>
    pack.validateScope(v.app).violations.flatMap((violation) =>
      violation.violatingResources
        .map((resource) => (resource as { constructPath?: string }).constructPath ?? '')
        .filter((path) => path.startsWith(under))
        .map((path) => `${violation.ruleName} ${path}`),
    ),
  );
}

describe('cdk-nag', () => {
  test.each([
    ['by default', byDefault],
    ['with every optional queue and an e-mail subscription', everything],
  ])('the AwsSolutions and HIPAA checks find nothing on the monitoring resources (%s)', (_name, v) => {
    expect(findingsOn(v)).toEqual([]);
  });

  test('the checks see the monitoring resources: an unencrypted topic there without an acknowledgement is flagged', () => {
    const v = monitored();
    new sns.CfnTopic(v.monitoring, 'BareTopic', {});
    expect(findingsOn(v)).toContain(`HIPAA.Security-SNSEncryptedKMS ${v.monitoring.node.path}/BareTopic`);
  });
});
