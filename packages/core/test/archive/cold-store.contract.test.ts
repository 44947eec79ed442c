import { randomUUID } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoColdStore, ensureTable, type RunArchive, type RunSummary } from "@weft/core/dynamodb";
import { ValidationError } from "@weft/core";
import { startDynalite, type DynamoServer, prepareDynamoDbLocal, startDynamoDbLocal } from "@weft/test-support";
import { makeRun, partition } from "./fixtures.js";

const jar = await prepareDynamoDbLocal();
if (!jar.ok) console.warn(`[cold store] DynamoDB Local suite SKIPPED: ${jar.reason}`);

const servers = [
  { server: "dynalite", start: startDynalite, skip: false },
  { server: "DynamoDB Local", start: startDynamoDbLocal, skip: !jar.ok },
];

const TABLE_NAME = "weft-archive-test";
const DAY_MS = 86_400_000;

/** A document client whose `send` throws once `n` commands of the given kind have gone through. */
function failingAfter(client: DynamoDBClient, n: number, kind: typeof BatchWriteCommand | typeof PutCommand): DynamoDBDocumentClient {
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const send = doc.send.bind(doc) as (cmd: unknown) => Promise<unknown>;
  let seen = 0;
  doc.send = (async (cmd: unknown) => {
    if (cmd instanceof kind && seen++ >= n) throw new Error("injected failure: the connection dropped");
    return send(cmd);
  }) as typeof doc.send;
  return doc;
}

const summary = (a: RunArchive): RunSummary => ({
  dagId: a.snapshot.dagId,
  status: a.snapshot.status,
  createdAt: a.snapshot.createdAt,
  finishedAt: a.snapshot.finishedAt!,
  counts: a.snapshot.counts,
});

describe.each(servers)("cold store contract on $server", ({ server: name, start, skip }) => {
  describe.skipIf(skip)(name, () => {
    let server: DynamoServer;
    let client: DynamoDBClient;
    let store: DynamoColdStore;
    const tenant = () => `t-${randomUUID().slice(0, 8)}`;

    beforeAll(async () => {
      server = await start();
      client = server.client();
      await ensureTable(client, TABLE_NAME);
      // A second call must be harmless: local setups call it on every start.
      await ensureTable(client, TABLE_NAME);
      store = new DynamoColdStore({ client, tableName: TABLE_NAME });
    });
    afterAll(async () => {
      await server?.stop();
    });

    it("round-trips a 5,000-node run with 2 KB outputs through chunks under 400 KB", async () => {
      const t = tenant();
      const run = makeRun({ tenant: t, dagId: "big", nodes: 5000, outputBytes: 2048 });
      let t0 = performance.now();
      await store.putRun(run);
      const putMs = performance.now() - t0;
      t0 = performance.now();
      const back = await store.getRun(t, "big");
      const getMs = performance.now() - t0;
      console.log(`[cold store] ${name}: 5,000-node run (${(JSON.stringify(run).length / 1e6).toFixed(1)} MB JSON) put ${putMs.toFixed(0)} ms, get ${getMs.toFixed(0)} ms`);
      expect(back).toEqual(run);

      const items = await partition(client, TABLE_NAME, t, "big");
      expect(items.filter((i) => i.sk.startsWith("C#")).length).toBeGreaterThan(20);
      expect(Math.max(...items.map((i) => i.bytes))).toBeLessThan(350 * 1024);

      // Paging the log through getEvents yields the same log.
      const paged = [];
      let after = 0;
      for (;;) {
        const page = await store.getEvents(t, "big", { after, limit: 1000 });
        expect(page).not.toBeNull();
        if (page!.events.length === 0) break;
        paged.push(...page!.events);
        after = page!.cursor;
      }
      expect(paged).toEqual(run.events);
    });

    it("pages events from any position with the engine's page shape", async () => {
      const t = tenant();
      const run = makeRun({ tenant: t, dagId: "r1", nodes: 300 });
      await new DynamoColdStore({ client, tableName: TABLE_NAME, segmentBytes: 4096 }).putRun(run);
      expect(await store.getEvents(t, "r1", { after: 10, limit: 5 })).toEqual({ events: run.events.slice(10, 15), cursor: 15 });
      const last = run.events.length;
      expect(await store.getEvents(t, "r1", { after: last - 2, limit: 100 })).toEqual({ events: run.events.slice(last - 2), cursor: last });
      expect(await store.getEvents(t, "r1", { after: last })).toEqual({ events: [], cursor: last });
      expect(await store.getEvents(t, "nope")).toBeNull();
    });

    it("putting the same run again rewrites the same items and nothing else", async () => {
      const t = tenant();
      const run = makeRun({ tenant: t, dagId: "r1", nodes: 200, outputBytes: 2048 });
      const small = new DynamoColdStore({ client, tableName: TABLE_NAME, chunkBytes: 8192 });
      await small.putRun(run);
      const first = await partition(client, TABLE_NAME, t, "r1");
      await small.putRun(run);
      // A retried flush with a later archivedAt refreshes the TTL on the very same keys.
      const later = { ...run, archivedAt: run.archivedAt + 60_000 };
      await small.putRun(later);
      const after = await partition(client, TABLE_NAME, t, "r1");
      expect(after.map((i) => i.sk)).toEqual(first.map((i) => i.sk));
      expect(after.map((i) => i.data)).toEqual(first.map((i) => i.data));
      expect(new Set(after.map((i) => i.expiresAt))).toEqual(new Set([first[0]!.expiresAt + 60]));
      expect(await small.getRun(t, "r1")).toEqual(later);
    });

    it("a flush that fails halfway reads as absent, and its retry completes with nothing lost or duplicated", async () => {
      const t = tenant();
      const run = makeRun({ tenant: t, dagId: "r1", nodes: 200, outputBytes: 2048 });
      const opts = { tableName: TABLE_NAME, chunkBytes: 4096 };
      const broken = new DynamoColdStore({ ...opts, client: failingAfter(client, 2, BatchWriteCommand) });
      await expect(broken.putRun(run)).rejects.toThrow(/injected failure/);

      const partial = await partition(client, TABLE_NAME, t, "r1");
      expect(partial.length).toBeGreaterThan(0); // some chunks did land...
      expect(partial.some((i) => i.sk === "MARKER")).toBe(false); // ...but no marker
      const healthy = new DynamoColdStore({ ...opts, client });
      expect(await healthy.getRun(t, "r1")).toBeNull();
      expect(await healthy.getEvents(t, "r1")).toBeNull();
      expect((await healthy.listRuns(t)).runs).toEqual([]);

      await healthy.putRun(run);
      expect(await healthy.getRun(t, "r1")).toEqual(run);
      // The same run flushed cleanly into an empty table stores exactly the same items.
      const clean = new DynamoColdStore({ ...opts, client, tableName: `${TABLE_NAME}-clean` });
      await ensureTable(client, `${TABLE_NAME}-clean`);
      await clean.putRun(run);
      const retried = await partition(client, TABLE_NAME, t, "r1");
      const reference = await partition(client, `${TABLE_NAME}-clean`, t, "r1");
      expect(retried.map((i) => [i.sk, i.data])).toEqual(reference.map((i) => [i.sk, i.data]));
    });

    it("a flush whose commit marker fails reads as absent until retried", async () => {
      const t = tenant();
      const run = makeRun({ tenant: t, dagId: "r1", nodes: 50 });
      const broken = new DynamoColdStore({ client: failingAfter(client, 0, PutCommand), tableName: TABLE_NAME });
      await expect(broken.putRun(run)).rejects.toThrow(/injected failure/);
      expect((await partition(client, TABLE_NAME, t, "r1")).some((i) => i.sk.startsWith("C#"))).toBe(true);
      expect(await store.getRun(t, "r1")).toBeNull();
      await store.putRun(run);
      expect(await store.getRun(t, "r1")).toEqual(run);
    });

    it("a run flushed again with new content (a redrive) replaces the old archive and drops its chunks", async () => {
      const t = tenant();
      const failed = makeRun({ tenant: t, dagId: "r1", nodes: 30, status: "failed" });
      await store.putRun(failed);
      const before = await partition(client, TABLE_NAME, t, "r1");
      const redriven = makeRun({ tenant: t, dagId: "r1", nodes: 30, status: "succeeded", createdAt: failed.snapshot.createdAt });
      await store.putRun(redriven);
      expect(await store.getRun(t, "r1")).toEqual(redriven);
      const after = await partition(client, TABLE_NAME, t, "r1");
      const oldChunks = new Set(before.filter((i) => i.sk.startsWith("C#")).map((i) => i.sk));
      expect(after.filter((i) => oldChunks.has(i.sk))).toEqual([]);
      expect((await store.listRuns(t)).runs).toEqual([summary(redriven)]);
      expect((await store.listRuns(t, { status: "failed" })).runs).toEqual([]);
    });

    it("two flushes of different content racing leave exactly one whole archive", async () => {
      const t = tenant();
      const x = makeRun({ tenant: t, dagId: "r1", nodes: 40, status: "failed", outputBytes: 512 });
      const y = makeRun({ tenant: t, dagId: "r1", nodes: 40, status: "succeeded", outputBytes: 512 });
      const small = new DynamoColdStore({ client, tableName: TABLE_NAME, chunkBytes: 2048 });
      await Promise.all([small.putRun(x), small.putRun(y)]);
      const back = await small.getRun(t, "r1");
      expect([x, y]).toContainEqual(back);
      const generations = new Set((await partition(client, TABLE_NAME, t, "r1")).filter((i) => i.sk.startsWith("C#")).map((i) => i.sk.split("#")[1]));
      expect(generations.size).toBe(1);
    });

    it("a chunk altered in the table is reported as corrupt, never returned", async () => {
      const t = tenant();
      await store.putRun(makeRun({ tenant: t, dagId: "r1", nodes: 20 }));
      const chunk = (await partition(client, TABLE_NAME, t, "r1")).find((i) => i.sk.includes("#S#"))!;
      const doc = DynamoDBDocumentClient.from(client);
      // A well-formed gzip of a subtly different snapshot: only the content hash can tell.
      const json = gunzipSync(chunk.data!).toString("utf8");
      expect(json).toContain('"task 7"');
      const data = gzipSync(json.replace('"task 7"', '"task 8"'));
      await doc.send(new PutCommand({ TableName: TABLE_NAME, Item: { pk: `RUN#${t}#r1`, sk: chunk.sk, data, expiresAt: chunk.expiresAt } }));
      await expect(store.getRun(t, "r1")).rejects.toThrow(/corrupt/);
    });

    it("expired runs read as absent and are left out of listings", async () => {
      const t = tenant();
      const now = Date.now();
      const old = makeRun({ tenant: t, dagId: "old", nodes: 5, archivedAt: now - 100 * DAY_MS, createdAt: now - 101 * DAY_MS });
      const fresh = makeRun({ tenant: t, dagId: "fresh", nodes: 5, archivedAt: now, createdAt: now - DAY_MS });
      await store.putRun(old);
      await store.putRun(fresh);
      expect(await store.getRun(t, "old")).toBeNull();
      expect(await store.getEvents(t, "old")).toBeNull();
      expect(await store.getRun(t, "fresh")).toEqual(fresh);
      expect((await store.listRuns(t)).runs.map((r) => r.dagId)).toEqual(["fresh"]);

      // The same store 91 days later: the fresh run has expired too.
      const later = new DynamoColdStore({ client, tableName: TABLE_NAME, clock: () => now + 91 * DAY_MS });
      expect(await later.getRun(t, "fresh")).toBeNull();
      expect((await later.listRuns(t)).runs).toEqual([]);
      const items = await partition(client, TABLE_NAME, t, "fresh");
      expect(items.every((i) => i.expiresAt === Math.floor(now / 1000) + 90 * 86_400)).toBe(true);
    });

    describe("listRuns", () => {
      const a = tenant();
      const b = tenant();
      const base = 1_700_000_000_000;
      const statuses = ["succeeded", "failed", "succeeded", "cancelled", "failed", "succeeded", "failed"] as const;
      const runsA = statuses.map((status, i) => makeRun({ tenant: a, dagId: `run-${i}`, nodes: 3, status, createdAt: base + i * 1000 }));
      const runsB = [0, 1, 2].map((i) => makeRun({ tenant: b, dagId: `run-${i}`, nodes: 2, status: "failed", createdAt: base + i * 1000 + 500 }));
      const newestFirst = (rs: RunArchive[]) => [...rs].sort((x, y) => y.snapshot.createdAt - x.snapshot.createdAt).map(summary);
      const all = async (t: string, opts: Parameters<DynamoColdStore["listRuns"]>[1]) => {
        const out: RunSummary[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.listRuns(t, { ...opts, ...(cursor ? { cursor } : {}) });
          expect(page.runs.length).toBeLessThanOrEqual(opts?.limit ?? 50);
          out.push(...page.runs);
          cursor = page.cursor;
          pages++;
        } while (cursor);
        return { out, pages };
      };

      beforeAll(async () => {
        for (const r of [...runsA, ...runsB]) await store.putRun(r);
      });

      it("lists a tenant's runs newest first with their summaries", async () => {
        expect(await store.listRuns(a)).toEqual({ runs: newestFirst(runsA) });
      });

      it("filters by status and by since", async () => {
        expect((await store.listRuns(a, { status: "failed" })).runs).toEqual(newestFirst(runsA.filter((r) => r.snapshot.status === "failed")));
        expect((await store.listRuns(a, { since: base + 3000 })).runs).toEqual(newestFirst(runsA.slice(3)));
        expect((await store.listRuns(a, { status: "succeeded", since: base + 1000 })).runs).toEqual(newestFirst([runsA[2]!, runsA[5]!]));
      });

      it("paginates with the cursor: every run once, in order", async () => {
        const { out, pages } = await all(a, { limit: 3 });
        expect(out).toEqual(newestFirst(runsA));
        expect(pages).toBeGreaterThanOrEqual(3);
        expect((await all(a, { limit: 1, status: "failed" })).out).toEqual(newestFirst(runsA.filter((r) => r.snapshot.status === "failed")));
      });

      it("never shows another tenant's runs, even with a same-named run or its cursor", async () => {
        expect((await store.listRuns(b)).runs).toEqual(newestFirst(runsB));
        expect((await store.getRun(b, "run-0"))?.snapshot.tenant).toBe(b);
        expect(await store.getRun(b, "run-5")).toBeNull();
        const page = await store.listRuns(a, { limit: 2 });
        expect(page.cursor).toBeDefined();
        await expect(store.listRuns(b, { limit: 2, cursor: page.cursor! })).rejects.toMatchObject({ field: "cursor" });
        await expect(store.listRuns(a, { limit: 2, status: "failed", cursor: page.cursor! })).rejects.toMatchObject({ field: "cursor" });
        await expect(store.listRuns(a, { cursor: "not-a-cursor" })).rejects.toBeInstanceOf(ValidationError);
      });
    });

    it("rejects bad input with a ValidationError naming the field, writing nothing", async () => {
      const t = tenant();
      const run = makeRun({ tenant: t, dagId: "r1", nodes: 2 });
      await expect(store.putRun({ ...run, tenant: "other" })).rejects.toMatchObject({ field: "snapshot.tenant" });
      await expect(store.putRun({ ...run, snapshot: { ...run.snapshot, status: "running" } })).rejects.toMatchObject({ field: "snapshot.status" });
      await expect(store.putRun({ ...run, events: [run.events[1]!, run.events[0]!] })).rejects.toMatchObject({ field: "events[1].seq" });
      await expect(store.getRun(t, "bad#id")).rejects.toMatchObject({ field: "dagId" });
      await expect(store.getEvents(t, "r1", { limit: 0 })).rejects.toMatchObject({ field: "limit" });
      await expect(store.listRuns(t, { status: "done" as never })).rejects.toMatchObject({ field: "status" });
      expect(await partition(client, TABLE_NAME, t, "r1")).toEqual([]);
    });
  });
});
