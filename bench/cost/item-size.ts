/**
 * DynamoDB's item-size arithmetic, and the write units and stored bytes that follow from it, by
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html:
 * an attribute is its name's UTF-8 bytes plus its value's: a string its UTF-8 bytes, binary its
 * raw bytes, a boolean or null 1, a number 1 per two significant digits plus 1, a map or list 3
 * plus each element (and a map entry's name) plus 1 per element, a set the sum of its members.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { tables } from '../../lambdas/shared/definitions';

/**
 * A number's bytes. DynamoDB keeps significant digits in pairs aligned on the decimal point, plus
 * one byte (so 1.5 takes 3 bytes where "digits / 2 + 1" says 2), one more when negative, 21 at
 * most; zero is 1 byte. The alignment is what Zac Charles measured against consumed capacity
 * (https://zaccharles.medium.com/calculating-a-dynamodb-items-size-and-consumed-capacity-d1728942eb7c).
 */
export function numberBytes(text: string): number {
  const match = /^(-?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(text.trim());
  if (!match) throw new Error(`not a DynamoDB number: ${text}`);
  const [, sign, whole = '', fraction = '', exponent = '0'] = match;
  const all = `${whole}${fraction}`;
  const leading = all.length - all.replace(/^0+/, '').length;
  const digits = all.slice(leading).replace(/0+$/, '');
  if (digits === '') return 1;
  // Powers of ten of the first and last significant digits; a pair holds powers 2k+1 and 2k.
  const first = whole.length + Number(exponent) - leading - 1;
  const pairs = Math.floor(first / 2) - Math.floor((first - digits.length + 1) / 2) + 1;
  return Math.min(21, pairs + 1 + (sign ? 1 : 0));
}

export function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return numberBytes(value.N);
  if (value.B !== undefined) return value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.M !== undefined)
    return 3 + Object.entries(value.M).reduce((sum, [name, v]) => sum + Buffer.byteLength(name) + valueBytes(v) + 1, 0);
  if (value.L !== undefined) return 3 + value.L.reduce((sum, v) => sum + valueBytes(v) + 1, 0);
  if (value.SS !== undefined) return value.SS.reduce((sum, s) => sum + Buffer.byteLength(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, n) => sum + numberBytes(n), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, b) => sum + b.length, 0);
  throw new Error(`unknown attribute value ${JSON.stringify(value)}`);
}

export const itemBytes = (item: Record<string, AttributeValue>) =>
  Object.entries(item).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + valueBytes(value), 0);

/** A standard write: 1 unit per started KB, the larger of the stored and new item (conditional or not). */
export const writeUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));
/** Storage counts 100 bytes of indexing overhead per item (and per index entry). */
export const storedBytes = (bytes: number) => bytes + 100;

/** As the product's document client marshalls (lambdas/shared/dynamodb.ts). */
export const marshallItem = (item: Record<string, unknown>) => marshall(item, { removeUndefinedValues: true, allowImpreciseNumbers: true });

/** The data table's index entry of an item (its keys and projected attributes), if the item is in the index. */
export function indexEntry(item: Record<string, AttributeValue>): Record<string, AttributeValue> | undefined {
  const [index] = tables.data.globalSecondaryIndexes;
  const keys = [tables.data.partitionKey.name, tables.data.sortKey.name, index.partitionKey.name, index.sortKey.name];
  if (keys.some((name) => item[name] === undefined)) return undefined;
  return Object.fromEntries(
    [...keys, ...index.nonKeyAttributes].filter((name) => item[name] !== undefined).map((name) => [name, item[name]]),
  );
}
