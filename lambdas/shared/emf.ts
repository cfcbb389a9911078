/**
 * CloudWatch embedded metric format (EMF), without a metrics library: a JSON log line whose `_aws`
 * member tells CloudWatch Logs which of its members are metrics, under which namespace and
 * dimensions. The ingest function writes one such line per request, the consumer one per
 * invocation (lambdas/consumer/metrics.ts): Powertools Metrics would add about 12 KB to each
 * bundle, and each line through it (or through a logger) costs several times a plain write.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */

export type EmfUnit = 'Count' | 'Bytes';

export interface EmfMetric {
  name: string;
  unit: EmfUnit;
  /** One value, or several of one invocation (EMF takes up to 100), each a sample of its statistics. */
  value: number | number[];
}

export interface EmfEntry {
  namespace: string;
  /** Every dimension's value, written as a top-level member, as the specification requires. */
  dimensions: Record<string, string>;
  /**
   * The dimension sets each metric is published under, e.g. `[['service'], ['service', 'reason']]`:
   * the total and the break-down. Each name must be a key of `dimensions`.
   */
  dimensionSets: string[][];
  metrics: EmfMetric[];
  /** Unix ms. */
  timestamp: number;
}

export function emfObject({ namespace, dimensions, dimensionSets, metrics, timestamp }: EmfEntry): Record<string, unknown> {
  for (const set of dimensionSets) {
    for (const name of set) {
      // CloudWatch drops a whole line whose dimension has no member: fail where the mistake is.
      if (dimensions[name] === undefined) throw new Error(`EMF dimension ${name} has no value`);
    }
  }
  const line: Record<string, unknown> = {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        { Namespace: namespace, Dimensions: dimensionSets, Metrics: metrics.map(({ name, unit }) => ({ Name: name, Unit: unit })) },
      ],
    },
    ...dimensions,
  };
  for (const { name, value } of metrics) line[name] = value;
  return line;
}

/**
 * One line to stdout, where Lambda sends it to the function's log group as is. Not console.log:
 * Lambda's runtime prefixes those lines (or, with the JSON log format, wraps them in a `message`),
 * and CloudWatch extracts metrics only from a line that is the EMF object itself.
 */
export const stdoutLine = (line: string): void => void process.stdout.write(`${line}\n`);

export function writeEmf(entry: EmfEntry, write: (line: string) => void = stdoutLine): void {
  write(JSON.stringify(emfObject(entry)));
}
