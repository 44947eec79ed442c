import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { UnavailableError } from "../errors.js";

/**
 * Batched item I/O with DynamoDB's limits handled: at most 25 writes / 100 reads per
 * call, 16 MB per request or response, and the unprocessed remainder (throttling, size)
 * retried with backoff until it is done or we give up loudly.
 */

type Item = Record<string, unknown>;
type Key = { pk: string; sk: string };

const MAX_ROUNDS = 10;
/** Stay well under the 16 MB per-request/response cap. */
const MAX_BATCH_BYTES = 2 * 1024 * 1024;
const PARALLEL = 8;

const backoff = (round: number) => new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** round)));

/** Groups of at most `count` whose estimated size stays under MAX_BATCH_BYTES. */
function group<T>(items: T[], count: number, size: (t: T) => number): T[][] {
  const groups: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (const it of items) {
    const s = size(it);
    if (cur.length > 0 && (cur.length === count || bytes + s > MAX_BATCH_BYTES)) {
      groups.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(it);
    bytes += s;
  }
  if (cur.length > 0) groups.push(cur);
  return groups;
}

/**
 * Runs `fn` over items, `limit` at a time. On the first failure no new item starts, and
 * it rejects only once the calls in flight have settled: nothing keeps writing after the
 * caller has been told the write failed.
 */
async function eachLimited<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      try {
        await fn(items[next++]!);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}

const itemBytes = (item: Item) => {
  let n = 0;
  for (const v of Object.values(item)) n += v instanceof Uint8Array ? v.length : String(v).length;
  return n + 200;
};

type WriteRequest = { PutRequest: { Item: Item } } | { DeleteRequest: { Key: Key } };

export async function batchWrite(doc: DynamoDBDocumentClient, table: string, requests: WriteRequest[]): Promise<void> {
  const size = (r: WriteRequest) => ("PutRequest" in r ? itemBytes(r.PutRequest.Item) : 300);
  await eachLimited(group(requests, 25, size), PARALLEL, async (batch) => {
    let pending = batch;
    for (let round = 0; pending.length > 0; round++) {
      if (round === MAX_ROUNDS) throw new UnavailableError(`DynamoDB left ${pending.length} writes unprocessed after ${MAX_ROUNDS} rounds`);
      if (round > 0) await backoff(round);
      const res = await doc.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
      pending = (res.UnprocessedItems?.[table] ?? []) as WriteRequest[];
    }
  });
}

/** Reads items by key (strongly consistent); missing items are simply absent from the map. */
export async function batchGet(doc: DynamoDBDocumentClient, table: string, keys: Key[], approxItemBytes: number): Promise<Map<string, Item>> {
  const found = new Map<string, Item>();
  await eachLimited(group(keys, 100, () => approxItemBytes), PARALLEL, async (batch) => {
    let pending: Key[] = batch;
    for (let round = 0; pending.length > 0; round++) {
      if (round === MAX_ROUNDS) throw new UnavailableError(`DynamoDB left ${pending.length} reads unprocessed after ${MAX_ROUNDS} rounds`);
      if (round > 0) await backoff(round);
      const res = await doc.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }));
      for (const item of res.Responses?.[table] ?? []) found.set(item.sk as string, item);
      pending = (res.UnprocessedKeys?.[table]?.Keys ?? []) as Key[];
    }
  });
  return found;
}
