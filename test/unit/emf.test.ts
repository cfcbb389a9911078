import { emfConsumerMetrics } from '../../lambdas/consumer/metrics';
import { emfIngestMetrics, type IngestResult } from '../../lambdas/ingest/metrics';
import { observability } from '../../lambdas/shared/definitions';
import { emfObject } from '../../lambdas/shared/emf';

const timestamp = 1_700_000_000_123;

interface EmfDirective {
  Namespace: string;
  Dimensions: string[][];
  Metrics: { Name: string; Unit: string }[];
}

/** The specification's rules a CloudWatch Logs agent applies before it extracts anything. */
function expectValidEmf(line: Record<string, unknown>) {
  const aws = line._aws as { Timestamp: number; CloudWatchMetrics: EmfDirective[] };
  expect(Number.isInteger(aws.Timestamp)).toBe(true);
  expect(aws.CloudWatchMetrics.length).toBeGreaterThan(0);
  for (const directive of aws.CloudWatchMetrics) {
    expect(directive.Namespace).toBe(observability.namespace);
    for (const set of directive.Dimensions) {
      expect(set.length).toBeLessThanOrEqual(30);
      for (const name of set) expect(typeof line[name]).toBe('string');
    }
    for (const metric of directive.Metrics) {
      const value = line[metric.Name];
      expect(
        Array.isArray(value) ? value.every((item) => typeof item === 'number') && value.length <= 100 : typeof value === 'number',
      ).toBe(true);
    }
  }
}

function ingestLine(result: IngestResult) {
  const lines: string[] = [];
  emfIngestMetrics(
    (line) => lines.push(line),
    () => timestamp,
  ).publish(result);
  expect(lines).toHaveLength(1);
  expect(lines[0]).not.toContain('\n');
  const parsed = JSON.parse(lines[0]) as Record<string, unknown>;
  expectValidEmf(parsed);
  return parsed;
}

const directive = (line: Record<string, unknown>) => (line._aws as { CloudWatchMetrics: EmfDirective[] }).CloudWatchMetrics[0];
const { metrics: names } = observability;

describe('embedded metric format', () => {
  it('writes each dimension and each metric value as a top-level member', () => {
    const line = emfObject({
      namespace: observability.namespace,
      dimensions: { service: 's', reason: 'r' },
      dimensionSets: [['service'], ['service', 'reason']],
      metrics: [{ name: 'A', unit: 'Count', value: 2 }],
      timestamp,
    });
    expect(line).toEqual({
      _aws: {
        Timestamp: timestamp,
        CloudWatchMetrics: [
          { Namespace: observability.namespace, Dimensions: [['service'], ['service', 'reason']], Metrics: [{ Name: 'A', Unit: 'Count' }] },
        ],
      },
      service: 's',
      reason: 'r',
      A: 2,
    });
  });

  it('refuses a dimension set naming a dimension without a value (CloudWatch would drop the line)', () => {
    expect(() =>
      emfObject({ namespace: 'n', dimensions: { service: 's' }, dimensionSets: [['service', 'reason']], metrics: [], timestamp }),
    ).toThrow(/reason/);
  });
});

describe('ingest metrics as EMF', () => {
  it('an accepted delivery: DeliveriesAccepted, BodyBytes and ClaimChecked by service', () => {
    const line = ingestLine({ outcome: 'accepted', bodyBytes: 2_000_000, claimChecked: true });
    expect(directive(line).Dimensions).toEqual([['service']]);
    expect(directive(line).Metrics).toEqual([
      { Name: names.deliveriesAccepted, Unit: 'Count' },
      { Name: names.bodyBytes, Unit: 'Bytes' },
      { Name: names.claimChecked, Unit: 'Count' },
    ]);
    expect(line).toMatchObject({
      service: observability.services.ingest,
      [names.deliveriesAccepted]: 1,
      [names.bodyBytes]: 2_000_000,
      [names.claimChecked]: 1,
    });
    expect((line._aws as { Timestamp: number }).Timestamp).toBe(timestamp);
  });

  it('a small delivery counts 0 claim checks', () => {
    expect(ingestLine({ outcome: 'accepted', bodyBytes: 300, claimChecked: false })[names.claimChecked]).toBe(0);
  });

  it.each(['signature_mismatch', 'signature_expired', 'source_ip_not_allowed', 'signing_secret_unavailable'] as const)(
    'a %s rejection: DeliveriesRejected by service, and by service and reason',
    (reason) => {
      const line = ingestLine({ outcome: 'rejected', reason });
      expect(directive(line).Dimensions).toEqual([['service'], ['service', 'reason']]);
      expect(directive(line).Metrics).toEqual([{ Name: names.deliveriesRejected, Unit: 'Count' }]);
      expect(line).toMatchObject({ service: observability.services.ingest, reason, [names.deliveriesRejected]: 1 });
    },
  );

  it('an enqueue failure: EnqueueFailed by service', () => {
    const line = ingestLine({ outcome: 'enqueue_failed' });
    expect(directive(line).Metrics).toEqual([{ Name: names.enqueueFailed, Unit: 'Count' }]);
    expect(line).toMatchObject({ service: observability.services.ingest, [names.enqueueFailed]: 1 });
  });
});

describe('consumer metrics as EMF, one flush per invocation', () => {
  function flushed(count: (metrics: ReturnType<typeof emfConsumerMetrics>) => void) {
    const lines: string[] = [];
    const metrics = emfConsumerMetrics(
      (line) => lines.push(line),
      () => timestamp,
    );
    count(metrics);
    metrics.flush();
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    parsed.forEach(expectValidEmf);
    return { parsed, metrics, lines };
  }

  it("sums items written and skipped over the batch, and keeps each delivery's PayloadBytes", () => {
    const { parsed } = flushed((metrics) => {
      metrics.count({ route: 'data', type: 'daily', written: 2, skipped: 1, payloadBytes: 900 });
      metrics.count({ route: 'data', type: 'sleep', written: 1, skipped: 0, payloadBytes: 4_000 });
    });
    expect(parsed).toHaveLength(1);
    expect(directive(parsed[0]).Dimensions).toEqual([['service']]);
    expect(parsed[0]).toMatchObject({
      service: observability.services.consumer,
      [names.itemsWritten]: 3,
      [names.staleOrRepeatedSkipped]: 1,
      [names.payloadBytes]: [900, 4_000],
    });
  });

  it('counts kept events by outcome on lines of their own, and Ping download failures', () => {
    const { parsed } = flushed((metrics) => {
      metrics.count({ route: 'event', type: 's3_payload', outcome: 'ping_fetch_failed', written: 1, skipped: 0 });
      metrics.count({ route: 'event', type: 'x', outcome: 'invalid', written: 1, skipped: 0 });
      metrics.count({ route: 'event', type: 'y', outcome: 'invalid', written: 1, skipped: 0 });
      metrics.pingDownloadFailed?.();
    });
    expect(parsed[0]).toMatchObject({ [names.pingDownloadFailures]: 1 });
    const kept = parsed.slice(1);
    expect(kept.map((line) => directive(line).Dimensions)).toEqual([[['service', 'outcome']], [['service', 'outcome']]]);
    expect(kept.map((line) => [line.outcome, line[names.eventsKept]])).toEqual([
      ['ping_fetch_failed', 1],
      ['invalid', 2],
    ]);
  });

  it('writes nothing for an invocation that counted nothing, and starts afresh after a flush', () => {
    const { lines, metrics } = flushed(() => {});
    expect(lines).toEqual([]);
    metrics.count({ route: 'data', type: 'daily', written: 1, skipped: 0 });
    metrics.flush();
    metrics.flush();
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])[names.itemsWritten]).toBe(1);
  });
});
