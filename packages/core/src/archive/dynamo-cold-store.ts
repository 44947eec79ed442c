import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { EventPage, NodeStatus, RunEvent, RunStatus, RunView } from "../engine/types.js";
import { ConflictError, SchemaError } from "../errors.js";
import { batchGet, batchWrite } from "./batch.js";
import { decodeBlob, encodeArchive, type EncodedArchive, type EncodedBlob } from "./codec.js";
import type { ColdStore, ListRunsOptions, RunArchive, RunList, RunSummary } from "./port.js";
import { DEFAULT_RETENTION_DAYS, TABLE } from "./table.js";
import { checkArchive, checkId, checkInt, checkStatus } from "./validate.js";
import { LIMITS } from "../checks.js";

export interface DynamoColdStoreOptions {
  /** A plain client is wrapped in a document client; a document client is used as given. */
  client: DynamoDBClient | DynamoDBDocumentClient;
  tableName?: string;
  /** How long archived runs are kept, counted from `archivedAt`. Default 90 days. */
  retentionSeconds?: number;
  /** Largest compressed part per item, bytes. Default 300,000 (items cap at 400 KB). */
  chunkBytes?: number;
  /** Event log segment size before compression, bytes. Default 256 KiB. */
  segmentBytes?: number;
  /** Epoch ms; decides what has expired. */
  clock?: () => number;
}

const DAY = 86_400;
const MARKER = "MARKER";
const FORMAT = 1;
/** Another flush committed between our read and our commit: start over this many times. */
const COMMIT_ATTEMPTS = 3;

/** Where a generation's parts live, stored on the marker as JSON. */
interface Layout {
  snapshot: [hash: string, parts: number];
  spec: [hash: string, parts: number] | null;
  segments: [first: number, last: number, parts: number, hash: string][];
}

interface Marker {
  hash: string;
  archivedAt: number;
  expiresAt: number;
  layout: Layout;
}

const runPk = (tenant: string, dagId: string) => `RUN#${tenant}#${dagId}`;
/** Chunk keys are named by content: a retried flush of the same run writes the same keys. */
const gen = (hash: string) => hash.slice(0, 16);
const partSk = (g: string, blob: string, part: number) => `C#${g}#${blob}#${String(part).padStart(4, "0")}`;
const segBlob = (i: number) => `E${String(i).padStart(6, "0")}`;
const timeKey = (createdAt: number, dagId: string) => `${String(createdAt).padStart(13, "0")}#${dagId}`;

/** The cold store on one DynamoDB table (see TABLE for the item layout). */
export class DynamoColdStore implements ColdStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly retentionSeconds: number;
  private readonly chunkBytes: number;
  private readonly segmentBytes: number;
  private readonly now: () => number;

  constructor(opts: DynamoColdStoreOptions) {
    this.doc =
      opts.client instanceof DynamoDBDocumentClient
        ? opts.client
        : DynamoDBDocumentClient.from(opts.client, { marshallOptions: { removeUndefinedValues: true } });
    this.table = opts.tableName ?? TABLE.defaultName;
    this.retentionSeconds = checkInt(opts.retentionSeconds ?? DEFAULT_RETENTION_DAYS * DAY, "retentionSeconds", 1, 100 * 365 * DAY);
    this.chunkBytes = checkInt(opts.chunkBytes ?? 300_000, "chunkBytes", 1024, 350_000);
    this.segmentBytes = checkInt(opts.segmentBytes ?? 256 * 1024, "segmentBytes", 1024, 16 * 1024 * 1024);
    this.now = opts.clock ?? Date.now;
  }

  /**
   * Chunks first, marker last: until the marker is written a reader sees nothing, and a
   * retry after a failure anywhere rewrites the same keys. Once a new marker points to a
   * new generation (a redriven run flushed again), the old generation's chunks go.
   */
  async putRun(archive: RunArchive): Promise<void> {
    checkArchive(archive);
    const pk = runPk(archive.tenant, archive.snapshot.dagId);
    const enc = await encodeArchive(archive, { chunkBytes: this.chunkBytes, segmentBytes: this.segmentBytes });
    const expiresAt = Math.floor(archive.archivedAt / 1000) + this.retentionSeconds;
    for (let attempt = 1; ; attempt++) {
      const current = await this.readMarker(pk);
      if (current && current.hash === enc.hash && current.expiresAt === expiresAt) return;
      await this.writeChunks(pk, enc, expiresAt);
      try {
        await this.commit(pk, archive, enc, expiresAt, current);
      } catch (e) {
        if ((e as Error).name !== "ConditionalCheckFailedException") throw e;
        if (attempt === COMMIT_ATTEMPTS) throw new ConflictError("the run's archive kept changing while it was being written", { dagId: archive.snapshot.dagId });
        continue;
      }
      if (current && gen(current.hash) !== gen(enc.hash)) await this.dropGeneration(pk, gen(current.hash));
      return;
    }
  }

  async getRun(tenant: string, dagId: string): Promise<RunArchive | null> {
    const pk = runPk(checkId(tenant, "tenant"), checkId(dagId, "dagId"));
    // A concurrent re-flush may drop the generation we are reading: read again from its marker.
    for (let attempt = 1; ; attempt++) {
      const marker = await this.liveMarker(pk);
      if (!marker) return null;
      const g = gen(marker.hash);
      const { snapshot, spec, segments } = marker.layout;
      const blobs: [string, number][] = [["S", snapshot[1]], ...(spec ? [["P", spec[1]] as [string, number]] : [])];
      segments.forEach((s, i) => blobs.push([segBlob(i), s[2]]));
      const parts = await this.readParts(pk, g, blobs);
      if (!parts) {
        if (attempt < COMMIT_ATTEMPTS) continue;
        throw new Error(`archive of run ${dagId} is missing chunks: the archive is corrupt`);
      }
      const [view, specValue, ...logs] = await Promise.all([
        decodeBlob<RunView>(parts.get("S")!, snapshot[0], "snapshot"),
        spec ? decodeBlob<unknown>(parts.get("P")!, spec[0], "spec") : undefined,
        ...segments.map((s, i) => decodeBlob<RunEvent[]>(parts.get(segBlob(i))!, s[3], "events")),
      ]);
      const events = (logs as RunEvent[][]).flat();
      return { tenant, snapshot: view as RunView, events, ...(spec ? { spec: specValue } : {}), archivedAt: marker.archivedAt };
    }
  }

  async getEvents(tenant: string, dagId: string, opts: { after?: number; limit?: number } = {}): Promise<EventPage | null> {
    const pk = runPk(checkId(tenant, "tenant"), checkId(dagId, "dagId"));
    const after = checkInt(opts.after ?? 0, "after", 0, Number.MAX_SAFE_INTEGER);
    // Same bounds as the engine's `events`, so read-through pages behave alike hot or cold.
    const limit = checkInt(opts.limit ?? 100, "limit", 1, 10_000);
    for (let attempt = 1; ; attempt++) {
      const marker = await this.liveMarker(pk);
      if (!marker) return null;
      const g = gen(marker.hash);
      const events: RunEvent[] = [];
      let complete = true;
      // Segments are in seq order; read only those past `after`, one at a time, until the page is full.
      for (const [i, [, last, parts, hash]] of marker.layout.segments.entries()) {
        if (last <= after) continue;
        const got = await this.readParts(pk, g, [[segBlob(i), parts]]);
        if (!got) {
          complete = false;
          break;
        }
        for (const e of await decodeBlob<RunEvent[]>(got.get(segBlob(i))!, hash, "events")) {
          if (e.seq > after && events.length < limit) events.push(e);
        }
        if (events.length === limit) break;
      }
      if (!complete) {
        if (attempt < COMMIT_ATTEMPTS) continue;
        throw new Error(`archive of run ${dagId} is missing chunks: the archive is corrupt`);
      }
      return { events, cursor: events.at(-1)?.seq ?? after };
    }
  }

  async listRuns(tenant: string, opts: ListRunsOptions = {}): Promise<RunList> {
    checkId(tenant, "tenant");
    const limit = checkInt(opts.limit ?? LIMITS.runPageDefault, "limit", 1, LIMITS.pageMax);
    const status = opts.status === undefined ? undefined : checkStatus(opts.status, "status");
    const since = opts.since === undefined ? undefined : checkInt(opts.since, "since", 0, 9_999_999_999_999);
    const index = status ? TABLE.indexes.byStatus : TABLE.indexes.byTenant;
    const partition = status ? `T#${tenant}#${status}` : `T#${tenant}`;
    let startKey = opts.cursor === undefined ? undefined : decodeCursor(opts.cursor, index, partition);
    const runs: RunSummary[] = [];
    const values: Record<string, unknown> = { ":p": partition, ":now": Math.floor(this.now() / 1000) };
    if (since !== undefined) values[":since"] = String(since).padStart(13, "0");
    do {
      // Limit counts items before the expiry filter, so a page may come back short: read on.
      const res = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: index.name,
          KeyConditionExpression: since === undefined ? "#p = :p" : "#p = :p AND #s >= :since",
          FilterExpression: "#exp > :now",
          ExpressionAttributeNames: { "#p": index.partitionKey, "#exp": TABLE.ttlAttribute, ...(since === undefined ? {} : { "#s": index.sortKey }) },
          ExpressionAttributeValues: values,
          ScanIndexForward: false,
          Limit: limit - runs.length,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of res.Items ?? []) runs.push(toSummary(item));
      startKey = res.LastEvaluatedKey;
    } while (startKey && runs.length < limit);
    return { runs, ...(startKey ? { cursor: encodeCursor(startKey) } : {}) };
  }

  private async readMarker(pk: string): Promise<Marker | null> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.table, Key: { pk, sk: MARKER }, ConsistentRead: true }));
    if (!Item) return null;
    return { hash: Item.hash as string, archivedAt: Item.archivedAt as number, expiresAt: Item.expiresAt as number, layout: JSON.parse(Item.layout as string) as Layout };
  }

  /** The marker, unless retention has passed: dynalite never deletes, and DynamoDB's TTL deletes late. */
  private async liveMarker(pk: string): Promise<Marker | null> {
    const m = await this.readMarker(pk);
    return m && m.expiresAt > Math.floor(this.now() / 1000) ? m : null;
  }

  private async writeChunks(pk: string, enc: EncodedArchive, expiresAt: number): Promise<void> {
    const g = gen(enc.hash);
    const blobs: [string, EncodedBlob][] = [["S", enc.snapshot], ...(enc.spec ? [["P", enc.spec] as [string, EncodedBlob]] : [])];
    enc.segments.forEach((s, i) => blobs.push([segBlob(i), s]));
    const puts = blobs.flatMap(([name, blob]) =>
      blob.parts.map((data, part) => ({ PutRequest: { Item: { pk, sk: partSk(g, name, part), data, [TABLE.ttlAttribute]: expiresAt } } })),
    );
    await batchWrite(this.doc, this.table, puts);
  }

  private async commit(pk: string, archive: RunArchive, enc: EncodedArchive, expiresAt: number, previous: Marker | null): Promise<void> {
    const s = archive.snapshot;
    const layout: Layout = {
      snapshot: [enc.snapshot.hash, enc.snapshot.parts.length],
      spec: enc.spec ? [enc.spec.hash, enc.spec.parts.length] : null,
      segments: enc.segments.map((x) => [x.first, x.last, x.parts.length, x.hash]),
    };
    const when = timeKey(s.createdAt, s.dagId);
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk,
          sk: MARKER,
          format: FORMAT,
          hash: enc.hash,
          layout: JSON.stringify(layout),
          eventCount: archive.events.length,
          tenant: archive.tenant,
          dagId: s.dagId,
          status: s.status,
          createdAt: s.createdAt,
          finishedAt: s.finishedAt,
          counts: s.counts,
          archivedAt: archive.archivedAt,
          [TABLE.ttlAttribute]: expiresAt,
          gsi1pk: `T#${archive.tenant}`,
          gsi1sk: when,
          gsi2pk: `T#${archive.tenant}#${s.status}`,
          gsi2sk: when,
        },
        // Commit only over the marker we based this write on; a concurrent flush makes us start over.
        ...(previous
          ? { ConditionExpression: "#h = :h AND archivedAt = :a", ExpressionAttributeNames: { "#h": "hash" }, ExpressionAttributeValues: { ":h": previous.hash, ":a": previous.archivedAt } }
          : { ConditionExpression: "attribute_not_exists(pk)" }),
      }),
    );
  }

  /** Reads every part of the named blobs; null when any is missing (its generation was dropped). */
  private async readParts(pk: string, g: string, blobs: [string, number][]): Promise<Map<string, Uint8Array[]> | null> {
    const keys = blobs.flatMap(([name, n]) => Array.from({ length: n }, (_, part) => ({ pk, sk: partSk(g, name, part) })));
    const items = await batchGet(this.doc, this.table, keys, this.chunkBytes + 200);
    const out = new Map<string, Uint8Array[]>();
    for (const [name, n] of blobs) {
      const parts: Uint8Array[] = [];
      for (let part = 0; part < n; part++) {
        const item = items.get(partSk(g, name, part));
        if (!item) return null;
        parts.push(item.data as Uint8Array);
      }
      out.set(name, parts);
    }
    return out;
  }

  /**
   * Deletes a superseded generation's chunks. Best effort: the marker no longer points at
   * them, so leftovers are invisible and expire with the TTL; failing the flush here would
   * only make the caller retry a write that already succeeded.
   */
  private async dropGeneration(pk: string, g: string): Promise<void> {
    try {
      let startKey: Record<string, unknown> | undefined;
      do {
        const res = await this.doc.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: "pk = :pk AND begins_with(sk, :g)",
            ExpressionAttributeValues: { ":pk": pk, ":g": `C#${g}#` },
            ProjectionExpression: "pk, sk",
            ExclusiveStartKey: startKey,
          }),
        );
        const deletes = (res.Items ?? []).map((i) => ({ DeleteRequest: { Key: { pk: i.pk as string, sk: i.sk as string } } }));
        if (deletes.length > 0) await batchWrite(this.doc, this.table, deletes);
        startKey = res.LastEvaluatedKey;
      } while (startKey);
    } catch {
      // See above: leftovers are harmless.
    }
  }
}

function toSummary(item: Record<string, unknown>): RunSummary {
  return {
    dagId: item.dagId as string,
    status: item.status as RunStatus,
    createdAt: item.createdAt as number,
    ...(typeof item.finishedAt === "number" ? { finishedAt: item.finishedAt } : {}),
    counts: item.counts as Record<NodeStatus, number>,
  };
}

function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

/** A cursor is a LastEvaluatedKey; it must belong to the same index and partition (never another tenant's). */
function decodeCursor(cursor: string, index: { partitionKey: string; sortKey: string }, partition: string): Record<string, unknown> {
  const bad = () => new SchemaError("cursor is not a cursor of this listing", "cursor");
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw bad();
  }
  if (typeof key !== "object" || key === null || Array.isArray(key)) throw bad();
  const k = key as Record<string, unknown>;
  const names = [TABLE.partitionKey, TABLE.sortKey, index.partitionKey, index.sortKey];
  if (Object.keys(k).length !== names.length || !names.every((n) => typeof k[n] === "string")) throw bad();
  if (k[index.partitionKey] !== partition) throw bad();
  return k;
}
