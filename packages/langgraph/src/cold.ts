import { createHash } from "node:crypto";
import { promisify } from "node:util";
import { gunzip, gzip } from "node:zlib";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { TABLE } from "@weft/core/dynamodb";

const gz = promisify(gzip);
const gunz = promisify(gunzip);

/** Everything Redis held of a thread at write sequence `seq` (see lua/dump.lua). */
export interface ThreadDump {
  seq: number;
  /** The thread hash, flat: field, value, field, value, ... */
  hash: string[];
  /** The checkpoint zset's members. */
  members: string[];
}

/**
 * Archived threads in Weft's cold-store table (TABLE in @weft/core: one table, `pk`/`sk`,
 * TTL attribute). Items of one thread share `pk = LG#<prefix>#<threadId>`, apart from
 * run archives (`RUN#...`):
 * - `sk = C#<generation>#<part>`: gzip chunks of the thread's dump; the generation is
 *   named by content, so a retried flush writes the same keys.
 * - `sk = MARKER`: written last; says which generation is whole. Until it exists a reader
 *   sees nothing, and a new marker retires the previous generation's chunks.
 * No item carries the index keys, so the run listings never see threads.
 */
export class ThreadArchive {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly table: string,
    private readonly prefix: string,
    private readonly retentionSeconds: number,
    private readonly chunkBytes = 300_000,
    private readonly now: () => number = Date.now,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  private pk(threadId: string): string {
    return `LG#${this.prefix}#${threadId}`;
  }

  async put(threadId: string, dump: ThreadDump): Promise<void> {
    const pk = this.pk(threadId);
    const body = await gz(Buffer.from(JSON.stringify(dump), "utf8"));
    const gen = createHash("sha1").update(body).digest("hex").slice(0, 16);
    const archivedAt = this.now();
    const expiresAt = Math.floor(archivedAt / 1000) + this.retentionSeconds;
    const parts: Buffer[] = [];
    for (let at = 0; at < body.length; at += this.chunkBytes) parts.push(body.subarray(at, at + this.chunkBytes));
    const previous = await this.marker(pk);
    await this.batch(parts.map((data, i) => ({ PutRequest: { Item: { [TABLE.partitionKey]: pk, [TABLE.sortKey]: chunkSk(gen, i), data, [TABLE.ttlAttribute]: expiresAt } } })));
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: { [TABLE.partitionKey]: pk, [TABLE.sortKey]: "MARKER", gen, parts: parts.length, seq: dump.seq, bytes: body.length, archivedAt, [TABLE.ttlAttribute]: expiresAt },
      }),
    );
    if (previous && previous.gen !== gen) await this.dropChunks(pk, `C#${previous.gen}#`);
  }

  /** Null when the thread was never archived or its retention has passed. */
  async get(threadId: string): Promise<ThreadDump | null> {
    const pk = this.pk(threadId);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const marker = await this.marker(pk);
      if (!marker) return null;
      const items = await this.query(pk, `C#${marker.gen}#`, false);
      // A concurrent flush may have retired this generation between the two reads.
      if (items.length !== marker.parts) continue;
      const body = Buffer.concat(items.map((i) => Buffer.from(i.data as Uint8Array)));
      return JSON.parse((await gunz(body)).toString("utf8")) as ThreadDump;
    }
    throw new Error(`the archive of a thread kept changing while it was read (table ${this.table})`);
  }

  async delete(threadId: string): Promise<void> {
    const pk = this.pk(threadId);
    const marker = await this.query(pk, "MARKER", true);
    // Marker first: readers stop seeing the thread before its chunks go.
    await this.batch(marker.map((i) => ({ DeleteRequest: { Key: { [TABLE.partitionKey]: pk, [TABLE.sortKey]: i[TABLE.sortKey] } } })));
    await this.dropChunks(pk, "C#");
  }

  private async marker(pk: string): Promise<{ gen: string; parts: number; seq: number } | null> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.table, Key: { [TABLE.partitionKey]: pk, [TABLE.sortKey]: "MARKER" }, ConsistentRead: true }));
    if (!Item) return null;
    // dynalite (tests) does not expire items: expired reads as absent, as in DynamoDB after its sweep.
    if (typeof Item[TABLE.ttlAttribute] === "number" && (Item[TABLE.ttlAttribute] as number) * 1000 <= this.now()) return null;
    return { gen: Item.gen as string, parts: Item.parts as number, seq: Item.seq as number };
  }

  private async dropChunks(pk: string, skPrefix: string): Promise<void> {
    const items = await this.query(pk, skPrefix, true);
    await this.batch(items.map((i) => ({ DeleteRequest: { Key: { [TABLE.partitionKey]: pk, [TABLE.sortKey]: i[TABLE.sortKey] } } })));
  }

  private async query(pk: string, skPrefix: string, keysOnly: boolean): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :sk)",
          ExpressionAttributeNames: { "#pk": TABLE.partitionKey, "#sk": TABLE.sortKey },
          ExpressionAttributeValues: { ":pk": pk, ":sk": skPrefix },
          ...(keysOnly ? { ProjectionExpression: "#pk, #sk" } : {}),
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      out.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  /** BatchWriteItem in groups of 25, sending unprocessed items again with backoff. */
  private async batch(requests: Record<string, unknown>[]): Promise<void> {
    for (let at = 0; at < requests.length; at += 25) {
      let pending = requests.slice(at, at + 25);
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 8) throw new Error(`DynamoDB kept ${pending.length} writes of a thread archive unprocessed`);
        if (attempt > 0) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
        const res = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending as never } }));
        pending = (res.UnprocessedItems?.[this.table] ?? []) as Record<string, unknown>[];
      }
    }
  }
}

const chunkSk = (gen: string, part: number) => `C#${gen}#${String(part).padStart(4, "0")}`;
