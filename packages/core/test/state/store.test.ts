import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "@weft/core/validation";
import { ConflictError, NotFoundError, PayloadTooLargeError, ValidationError } from "@weft/core";
import { createEngine } from "@weft/core";
import { keySchema } from "@weft/core/redis";
import { createStateStore, RawJson, stateKeys, type StateRef, type StateStore } from "../../src/state/index.js";
import { admin, backends, useBackend, type Backend } from "@weft/test-support";

const ns = (key = "k"): StateRef => ({ tenant: `t-${randomUUID().slice(0, 8)}`, namespace: "bookings", key });

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

async function keyCount(b: Backend): Promise<number> {
  const sizes = await Promise.all(b.nodes.map((n) => admin(n, (c) => c.dbsize())));
  return sizes.reduce((a, s) => a + s, 0);
}

describe("state keys", () => {
  it("puts a run's state keys under the run's prefix, so they share its hash slot", () => {
    const schema = keySchema("weft", 6);
    const k = stateKeys(schema, { tenant: "acme", dagId: "run-1", key: "plan" });
    expect(k.value).toBe(`${schema.run("acme", "run-1").key}state:plan`);
    expect(k.history.startsWith(schema.run("acme", "run-1").key)).toBe(true);
  });

  it("spreads namespaces over shards by tenant and namespace", () => {
    const schema = keySchema("weft", 16);
    const shards = new Set(
      Array.from({ length: 40 }, (_, i) => stateKeys(schema, { tenant: "acme", namespace: `ns${i}`, key: "k" }).value.split("}")[0]),
    );
    expect(shards.size).toBeGreaterThan(4);
  });
});

describe.each(backends)("shared state on %s", (name) => {
  const backend = useBackend(name);
  const open = (): StateStore => createStateStore({ redis: backend().redis(), keys: keySchema("weft", backend().shardCount), historyLimit: 5 });

  it("creates a key at version 1 and reads back the value, version and writer", async () => {
    const s = open();
    const ref = ns("session_123");
    const w = await s.create(ref, { status: "PENDING", seats: [1, 2] }, { writer: { agent: "booker", run: "r1", node: "n1", attempt: 2 } });
    expect(w.version).toBe(1);
    const e = await s.get(ref);
    expect(e).toMatchObject({ value: { status: "PENDING", seats: [1, 2] }, version: 1, writer: { agent: "booker", run: "r1", node: "n1", attempt: 2 } });
    expect(e.at).toBeGreaterThan(Date.now() - 60_000);
  });

  it("refuses a second create with the current value and version", async () => {
    const s = open();
    const ref = ns();
    await s.create(ref, { a: 1 });
    const err = await rejection(s.create(ref, { a: 2 }));
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).details).toMatchObject({ current: { value: { a: 1 }, version: 1 } });
    expect((await s.get(ref)).value).toEqual({ a: 1 });
  });

  it("writes with the current version and rejects a stale one, leaving the value as it was", async () => {
    const s = open();
    const ref = ns();
    await s.create(ref, { n: 0 });
    expect((await s.put(ref, { n: 1 }, { expectedVersion: 1 })).version).toBe(2);
    const err = await rejection(s.put(ref, { n: 99 }, { expectedVersion: 1 }));
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).details).toMatchObject({ current: { value: { n: 1 }, version: 2 }, reason: "version" });
    expect(await s.get(ref)).toMatchObject({ value: { n: 1 }, version: 2 });
  });

  it("keeps values byte for byte: empty arrays, empty objects, big numbers, unicode", async () => {
    const s = open();
    const ref = ns();
    const text = '{"list":[],"obj":{},"big":12345678901234567890123,"f":1.10,"s":"é\\u0000/\\"x"}';
    await s.create(ref, new RawJson(text));
    const e = await s.get(ref);
    expect(e.json).toBe(text);
    expect(e.value).toMatchObject({ list: [], obj: {} });
  });

  it("reads a missing key as not found, and a stale write to it as a conflict at version 0", async () => {
    const s = open();
    const ref = ns();
    expect(await s.read(ref)).toBeUndefined();
    expect(await rejection(s.get(ref))).toBeInstanceOf(NotFoundError);
    const err = await rejection(s.put(ref, 1, { expectedVersion: 1 }));
    expect((err as ConflictError).details).toMatchObject({ current: { value: null, version: 0 } });
  });

  it("deletes at the current version and keeps counting versions after a re-create", async () => {
    const s = open();
    const ref = ns();
    await s.create(ref, "a");
    await s.put(ref, "b", { expectedVersion: 1 });
    expect(await rejection(s.delete(ref, { expectedVersion: 1 }))).toBeInstanceOf(ConflictError);
    expect((await s.delete(ref, { expectedVersion: 2 })).version).toBe(3);
    expect(await s.read(ref)).toBeUndefined();
    // A stale agent still holding version 1 or 2 can never match the re-created key.
    const again = await s.create(ref, "c");
    expect(again.version).toBe(4);
    expect(await rejection(s.put(ref, "stale", { expectedVersion: 2 }))).toBeInstanceOf(ConflictError);
    expect((await s.get(ref)).value).toBe("c");
  });

  it("applies a JSON merge patch, as a compare-and-set when given a version", async () => {
    const s = open();
    const ref = ns();
    await s.create(ref, { a: 1, b: { c: 2, d: 3 }, list: [1] });
    const p = await s.patch(ref, { b: { c: null, e: 4 }, list: [], z: "new" }, { expectedVersion: 1 });
    expect(p.version).toBe(2);
    expect(p.value).toEqual({ a: 1, b: { d: 3, e: 4 }, list: [], z: "new" });
    expect((await s.get(ref)).value).toEqual(p.value);
    const stale = await rejection(s.patch(ref, { a: 9 }, { expectedVersion: 1 }));
    expect((stale as ConflictError).details).toMatchObject({ current: { version: 2 } });
    expect((await s.get(ref)).version).toBe(2);
    expect(await rejection(s.patch(ns(), { a: 1 }))).toBeInstanceOf(NotFoundError);
  });

  it("merges concurrent unversioned patches to different fields without losing any", async () => {
    const s = open();
    const ref = ns();
    await s.create(ref, {});
    await Promise.all(Array.from({ length: 20 }, (_, i) => s.patch(ref, { [`f${i}`]: i }, { retries: 100, backoffMs: 1 })));
    const e = await s.get(ref);
    expect(Object.keys(e.value as object)).toHaveLength(20);
    expect(e.version).toBe(21);
  });

  /** A real run to hang run-scoped state on. */
  async function submitRun(tenant: string, dagId: string): Promise<void> {
    const engine = createEngine({ redis: backend().redis(), shardCount: backend().shardCount });
    await engine.submit(tenant, { id: dagId, nodes: [{ id: "a", agent: "worker" }] });
  }

  it("made with an engine's keys, it reads what the engine's completions wrote, whatever prefix and shard count the engine has", async () => {
    const engine = createEngine({ redis: backend().redis(), prefix: "other", shardCount: backend().shardCount + 2 });
    const s = createStateStore({ redis: backend().redis(), keys: engine.keys });
    const tenant = `t-${randomUUID().slice(0, 8)}`;
    const { dagId } = await engine.submit(tenant, { nodes: [{ id: "a", agent: "w" }] });
    const [task] = await engine.claim(tenant, "w");
    await engine.complete(tenant, { dagId, nodeId: "a", leaseToken: task!.leaseToken }, 1, { state: [{ key: "k", create: true, value: { by: "a" } }] });
    expect((await s.get({ tenant, dagId, key: "k" })).value).toEqual({ by: "a" });
    // The layout of a default engine is another key: a store made apart would not see it.
    await expect(open().get({ tenant, dagId, key: "k" })).rejects.toBeInstanceOf(NotFoundError);
    await engine.close();
  });

  it("writes run-scoped state only while the run exists, and lists its keys in the run's state-keys set", async () => {
    const s = open();
    const tenant = `t-${randomUUID().slice(0, 8)}`;
    const ref: StateRef = { tenant, dagId: "run-1", key: "plan" };
    expect(await rejection(s.create(ref, 1))).toBeInstanceOf(NotFoundError);
    expect(await s.read(ref)).toBeUndefined();
    await submitRun(tenant, "run-1");
    await s.create(ref, 1);
    await s.create({ ...ref, key: "notes" }, "n");
    const index = `${keySchema("weft", backend().shardCount).run(tenant, "run-1").key}state-keys`;
    const members = await Promise.all(backend().nodes.map((n) => admin(n, (c) => c.smembers(index).catch(() => [] as string[]))));
    expect(members.flat().sort()).toEqual(["notes", "plan"]);
    // Another tenant's run of the same id is another run.
    expect(await rejection(s.create({ ...ref, tenant: "other" }, 1))).toBeInstanceOf(NotFoundError);
  });

  it("records a bounded history of who wrote what version, newest first", async () => {
    const s = open();
    const ref: StateRef = { tenant: `t-${randomUUID().slice(0, 8)}`, dagId: "run-7", key: "plan" };
    await submitRun(ref.tenant, "run-7");
    await s.create(ref, 0, { writer: { agent: "a0", node: "n", attempt: 1 } });
    for (let v = 1; v <= 6; v++) await s.put(ref, v, { expectedVersion: v, writer: { agent: `a${v}` } });
    await s.delete(ref, { expectedVersion: 7, writer: { agent: "cleaner" } });
    const h = await s.history(ref);
    expect(h).toHaveLength(5);
    expect(h.map((e) => e.version)).toEqual([8, 7, 6, 5, 4]);
    expect(h[0]).toMatchObject({ op: "delete", writer: { agent: "cleaner", run: "run-7" } });
    expect(h[1]).toMatchObject({ op: "put", writer: { agent: "a6", run: "run-7" } });
    expect((await s.history(ref, { limit: 2 })).map((e) => e.version)).toEqual([8, 7]);
    expect(await s.history(ns())).toEqual([]);
  });

  it("rejects bad input with a ValidationError naming the field, writing nothing", async () => {
    const s = open();
    const before = await keyCount(backend());
    const ref = ns();
    const cases: [Promise<unknown>, string][] = [
      [s.create({ ...ref, key: "no spaces" }, 1), "key"],
      [s.create({ ...ref, namespace: "a:b" }, 1), "namespace"],
      [s.create({ ...ref, tenant: "" }, 1), "tenant"],
      [s.create(ref, undefined), "value"],
      [s.create(ref, new RawJson("{not json")), "value"],
      [s.create(ref, { n: 1n }), "value"],
      [s.create(ref, 1, { writer: { attempt: -1 } }), "writer.attempt"],
      [s.create(ref, 1, { writer: { agent: "bad agent" } }), "writer.agent"],
      [s.put(ref, 1, { expectedVersion: 1.5 }), "expectedVersion"],
      [s.put(ref, 1, { expectedVersion: "1" as unknown as number }), "expectedVersion"],
      [s.delete(ref, { expectedVersion: -1 }), "expectedVersion"],
      [s.history(ref, { limit: 6 }), "limit"],
      [s.create({ tenant: "t", key: "k" } as StateRef, 1), "namespace"],
    ];
    for (const [p, field] of cases) {
      const err = await rejection(p);
      expect(err, field).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe(field);
    }
    const big = await rejection(s.create(ref, "x".repeat(300 * 1024)));
    expect(big).toBeInstanceOf(PayloadTooLargeError);
    expect(await keyCount(backend())).toBe(before);
  });

  it("takes a value up to the engine's bound on a value by default (DEFAULT_LIMITS.maxInputBytes), not a byte more", async () => {
    const s = open();
    const max = DEFAULT_LIMITS.maxInputBytes;
    // A string of n characters is n + 2 bytes of JSON.
    expect((await s.create(ns(), "x".repeat(max - 2))).version).toBe(1);
    expect(await rejection(s.create(ns(), "x".repeat(max - 1)))).toMatchObject({ field: "value", code: "payload_too_large" });
  });
});
