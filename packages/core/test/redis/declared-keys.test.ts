import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine } from "@weft/core";
import { DAG_SCRIPTS } from "../../src/engine/scripts.js";
import { keySchema } from "@weft/core/redis";
import { keyNames } from "../../src/redis/lua.js";
import type { LuaScript, RedisPort } from "@weft/core/redis";
import { TcpRedis } from "@weft/core/redis";
import { STATE_SCRIPTS } from "../../src/state/scripts.js";
import { LIMIT_SCRIPTS } from "../../src/limits/scripts.js";
import { createRateLimiter } from "@weft/core/limits";
import { SIGNAL_SCRIPTS } from "@weft/core/signals";
import { createSignals } from "@weft/core/signals";
import { createStateStore } from "@weft/core";
import { startRedis, type RedisProcess } from "@weft/test-support";

/**
 * The script contract's key rule (docs/architecture.md, "Script calls"): every key a script
 * touches is one of its KEYS, or derives from a KEYS entry ending in ':' (a run key, the
 * shard's run and ready-queue prefixes). Checked on a real redis-server under MONITOR,
 * whose log shows each command a script runs.
 */
const LUA = join(import.meta.dirname, "../../src/redis/lua");
const CONTRACTS = [...DAG_SCRIPTS, ...STATE_SCRIPTS, ...LIMIT_SCRIPTS, ...SIGNAL_SCRIPTS];
const strip = (n: string) => n.replace(/[?*]$/, "");

describe("the script contract", () => {
  it("has one table per Lua script, naming the keys of the script's KEYS header", () => {
    const files = readdirSync(LUA).filter((f) => f.endsWith(".lua")).map((f) => f.slice(0, -4)).sort();
    expect(CONTRACTS.map((c) => c.name).sort()).toEqual(files);
    const schema = keySchema("weft", 4);
    const run = schema.run("t", "d");
    const ctx = {
      shard: schema.shard(run.shard),
      run,
      runs: [run],
      tenant: "t",
      machine: schema.machine("t", "m"),
      value: run.state("k"),
      history: run.stateHistory("k"),
    };
    for (const c of CONTRACTS) {
      const header = keyNames(c.name);
      expect(header.length, `${c.name} has a -- KEYS: header`).toBeGreaterThan(0);
      const given = Object.keys((c.keys as (x: unknown) => Record<string, unknown>)({ ...ctx, run: { ...run, dagId: "d", meta: run.meta, index: run.stateKeys } }));
      expect(given.sort(), c.name).toEqual(header.map(strip).sort());
    }
  });

  it("ends every script call through reply() or fail(), which write the buffered event log", () => {
    for (const c of CONTRACTS) {
      const text = readFileSync(join(LUA, `${c.name}.lua`), "utf8");
      expect(text, c.name).toMatch(/^(local a = )?begin\(K, ARGV\)$/m);
      expect(bareReturns(text), c.name).toEqual([]);
    }
  });
});

/** `return`s of the script body (outside its local functions) that bypass reply()/fail(). */
function bareReturns(lua: string): string[] {
  const code = lua.replace(/--.*$/gm, "").replace(/'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"/g, "''");
  const stack: ("f" | "b")[] = [];
  let loopDo = 0;
  const bad: string[] = [];
  for (const m of code.matchAll(/\b(function|if|for|while|repeat|do|end|until|return)\b/g)) {
    switch (m[1]) {
      case "function":
        stack.push("f");
        break;
      case "if":
      case "repeat":
        stack.push("b");
        break;
      case "for":
      case "while":
        stack.push("b");
        loopDo++;
        break;
      case "do":
        if (loopDo > 0) loopDo--;
        else stack.push("b");
        break;
      case "end":
      case "until":
        stack.pop();
        break;
      case "return":
        if (!stack.includes("f") && !/^return\s+(reply|fail)\(/.test(code.slice(m.index))) bad.push(code.slice(m.index, m.index + 40));
    }
  }
  return bad;
}

describe("every key a script touches is declared in its KEYS", () => {
  let server: RedisProcess;
  let base: Redis;
  let monitor: Redis;
  const seen: { source: string; args: string[] }[] = [];
  beforeAll(async () => {
    server = await startRedis();
    base = new Redis({ port: server.port, lazyConnect: true });
    base.on("error", () => {});
    monitor = await base.monitor();
    monitor.on("error", () => {});
    monitor.on("monitor", (_time: string, args: string[], source: string) => seen.push({ source, args }));
  });
  afterAll(async () => {
    monitor.disconnect();
    base.disconnect();
    await server.stop();
  });

  it("for every script, over a workload that runs each of them", async () => {
    const tcp = new TcpRedis({ url: server.url });
    const calls: { script: string; keys: string[] }[] = [];
    // Marks each call in the MONITOR log: an ECHO on the same connection, then the script.
    const port: RedisPort = {
      get calls() {
        return tcp.calls;
      },
      cluster: false,
      run(script: LuaScript, keys: string[], args: string[]) {
        void tcp.client.echo(`weft-call ${calls.length}`);
        calls.push({ script: script.name, keys });
        return tcp.run(script, keys, args);
      },
      close: () => tcp.close(),
    };
    let now = 1_000_000;
    const clock = () => now;
    const opts = { redis: port, prefix: "dk", shardCount: 3, clock };
    const engine = createEngine(opts);
    const state = createStateStore({ redis: port, clock, keys: engine.keys });
    const t = "acme";

    const chain = await engine.submit(t, {
      nodes: [
        { id: "a", agent: "ag" },
        { id: "b", agent: "bg", deps: ["a"], retry: { maxAttempts: 3, backoffMs: 10 } },
        { id: "c", agent: "cg", deps: ["b"] },
      ],
    });
    const other = await engine.submit(t, { nodes: [{ id: "x", agent: "ag" }, { id: "y", agent: "ag" }] });
    await state.create({ tenant: t, dagId: chain.dagId, key: "plan" }, { v: 1 });
    const [a] = await engine.claim(t, "ag", { max: 1 });
    await engine.heartbeat(t, { dagId: a!.dagId, nodeId: a!.nodeId, leaseToken: a!.leaseToken }, 5000);
    await engine.parentOutputs(t, a!.dagId, a!.nodeId);
    const more = await engine.claim(t, "ag", { max: 10 });
    await engine.completeMany(
      t,
      [a!, ...more].map((task) => ({
        dagId: task.dagId,
        nodeId: task.nodeId,
        leaseToken: task.leaseToken,
        output: { ok: task.nodeId },
        ...(task.dagId === chain.dagId ? { state: [{ key: "plan", value: { v: 2 }, expectedVersion: 1 }] } : {}),
      })),
    );
    const [b] = await engine.claim(t, "bg");
    await engine.fail(t, b!, { message: "try again" });
    now += 1000;
    await engine.reconcile();
    const [b2] = await engine.claim(t, "bg", { leaseMs: 10 });
    now += 1000;
    await engine.reconcile(); // the lease expired: b retries
    now += 1000;
    await engine.reconcile();
    const b3 = await engine.claimNode(t, chain.dagId, "b");
    await engine.release(t, { dagId: chain.dagId, nodeId: "b", leaseToken: b3.leaseToken });
    const [b4] = await engine.claim(t, "bg");
    await engine.extend(t, { dagId: chain.dagId, nodeId: "b", leaseToken: b4!.leaseToken }, { nodes: [{ id: "b2", agent: "cg", deps: ["b"] }] });
    await engine.addNodes(t, chain.dagId, { nodes: [{ id: "z", agent: "zg" }] });
    const done = await engine.complete(t, { dagId: chain.dagId, nodeId: "b", leaseToken: b4!.leaseToken }, "done", {
      claimNext: { agent: "cg", max: 3 },
      add: { nodes: [{ id: "b3", agent: "cg", deps: ["b"] }] },
    });
    expect(done.next?.map((n) => n.nodeId).sort()).toEqual(["b2", "b3", "c"]);
    await engine.cancel(t, chain.dagId, { reason: "enough" });
    expect(b2).toBeDefined();
    await engine.getRun(t, chain.dagId);
    await engine.events(t, chain.dagId);
    await engine.ackOutbox(await engine.readOutbox({ limit: 1000 }));
    await engine.listHotRuns(t, { limit: 10 });
    await engine.redrive(t, chain.dagId);
    await engine.rewind(t, other.dagId, "x");
    await engine.cancel(t, chain.dagId);
    // Waits: a wait node (its deps met on submit), a signal, a keyed wait, a timeout, a
    // suspended agent resumed by a signal URL's token, a pause and a resume.
    const sealed = createEngine({ ...opts, signingSecret: "a signing secret of 32+ characters" });
    const waits = await sealed.submit(t, {
      nodes: [
        { id: "gate", wait: { timeoutMs: 5 } },
        { id: "key", wait: { key: "invoice-1" } },
        { id: "ask", agent: "wg" },
        { id: "after", agent: "wg", deps: ["gate", "key"] },
      ],
    });
    await sealed.pause(t, waits.dagId);
    await sealed.resume(t, waits.dagId);
    const ask = await sealed.claimNode(t, waits.dagId, "ask");
    const suspended = await sealed.suspend(t, ask, { timeoutMs: 60_000 });
    await sealed.signalByToken(suspended.signalToken!, { output: "yes" });
    await sealed.signalKey(t, "invoice-1", { output: 1 });
    now += 10;
    await sealed.reconcile(); // the gate times out, and fails the run
    const approval = await sealed.submit(t, { nodes: [{ id: "ok", wait: {} }] });
    await sealed.signal(t, approval.dagId, "ok", { output: true });
    const exported = await engine.exportRun(t, chain.dagId);
    await engine.finishedRuns({ olderThan: now + 1 });
    expect(await engine.releaseRun(t, chain.dagId, { ttlSeconds: 60, archivedAt: now })).toBe(true);
    await engine.restoreRun(t, { ...exported, snapshot: { ...exported.snapshot, dagId: "restored" } }, 60);

    const runRef = { tenant: t, dagId: other.dagId, key: "k" };
    const nsRef = { tenant: t, namespace: "ns", key: "k" };
    for (const ref of [runRef, nsRef]) {
      const w = await state.create(ref, { state: "NEW" });
      await state.put(ref, { state: "NEW", n: 1 }, { expectedVersion: w.version });
      await state.patch(ref, { n: 2 });
      await state.get(ref);
      await state.history(ref);
    }
    await state.keys({ tenant: t, dagId: other.dagId });
    await state.keys({ tenant: t, namespace: "ns" });
    await state.namespaces(t);
    await state.putMachine(t, "m", { initial: "NEW", states: ["NEW", "DONE"], transitions: { NEW: ["DONE"] } });
    await state.getMachine(t, "m");
    const moved = await state.transition(nsRef, { machine: "m", to: "DONE" });
    await state.delete(nsRef, { expectedVersion: moved.version });
    await createRateLimiter({ redis: port, prefix: "dk", now: clock }).take(t, [
      { scope: "all", rate: 10, burst: 10 },
      { scope: "claim", rate: 1, burst: 1 },
    ]);
    const signals = createSignals({ redis: port, keys: engine.keys, clock });
    expect((await signals.redisHealth()).ok).toBe(true);
    await signals.agents(t);
    await signals.agents(t, { agent: "ag", withinMs: 1000 });

    // MONITOR lags the replies a little: wait for a mark after the last call, then its commands.
    await tcp.client.echo("weft-call end");
    for (let i = 0; i < 500 && !seen.some((s) => s.args[1] === "weft-call end"); i++) await new Promise((r) => setTimeout(r, 20));

    expect(new Set(calls.map((c) => c.script))).toEqual(new Set(CONTRACTS.map((c) => c.name)));
    const undeclared: string[] = [];
    let current: { script: string; keys: string[] } | undefined;
    let inner = 0;
    for (const { source, args } of seen) {
      const cmd = args[0]!.toUpperCase();
      if (cmd === "ECHO" && args[1]?.startsWith("weft-call ")) {
        current = args[1] === "weft-call end" ? undefined : calls[Number(args[1].slice(10))];
        continue;
      }
      if (source !== "lua" || !current) continue;
      inner++;
      if (cmd === "TIME") continue;
      const key = args[1]!;
      const declared = current.keys.some((k) => k === key || (k.endsWith(":") && key.startsWith(k)));
      if (!declared) undeclared.push(`${current.script}: ${cmd} ${key}`);
    }
    expect(inner).toBeGreaterThan(100);
    expect([...new Set(undeclared)]).toEqual([]);
    await engine.close();
  });
});
