import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LOG_SHORT, OUT_SHORT, decodeEvents, decodeOutbox } from "../../src/engine/codec.js";

const callLua = readFileSync(new URL("../../src/redis/lua/includes/call.lua", import.meta.url), "utf8");

/** A Lua table literal of the include, by its local name. */
const luaTable = (name: string) => new RegExp(`^local ${name} = \\{(.*)\\}$`, "m").exec(callLua)?.[1] ?? "";

describe("event and outbox shorthands", () => {
  it("are the same in the scripts (includes/call.lua) and in the decoder", () => {
    const log = [...luaTable("LOG_SHORT").matchAll(/\['([a-z.]+)'\] = \{ (\w+) = '(\w)' \}/g)].map(([, type, from, code]) => [code, [type, from]]);
    expect(Object.fromEntries(log)).toEqual(LOG_SHORT);
    const out = [...luaTable("OUT_SHORT").matchAll(/(\w+) = '(\w)'/g)].map(([, type, code]) => [code, type]);
    expect(Object.fromEntries(out)).toEqual(OUT_SHORT);
    // One letter each, none a real type name.
    for (const code of [...Object.keys(LOG_SHORT), ...Object.keys(OUT_SHORT)]) expect(code).toMatch(/^[A-Z]$/);
  });

  it("decode entries whose events inherit the previous actor, next to entries that name every actor", () => {
    // A short node.ready's empty actor is the engine, and it does not interrupt the rule.
    const events = decodeEvents(["0-7", ["e", "C|a|1||w1|200", "e", "C|b|1|||", "e", "R|c|0|||", "e", "S|c|1||||500", "e", "S|d|1||||500", "e", "R|e|0||api|", "e", "C|c|1|||"]]);
    expect(events.map((e) => [e.type, e.node, e.actor, e.at, e.data])).toEqual([
      ["node.succeeded", "a", "w1", 200, undefined],
      ["node.succeeded", "b", "w1", 200, undefined],
      ["node.ready", "c", "engine", 200, undefined],
      ["node.started", "c", "w1", 200, { workerId: "w1", leaseExpiresAt: 700 }],
      ["node.started", "d", "w1", 200, { workerId: "w1", leaseExpiresAt: 700 }],
      ["node.ready", "e", "api", 200, undefined],
      ["node.succeeded", "c", "w1", 200, undefined],
    ]);
    // Written before the rule: every actor named, an R by the engine too.
    expect(decodeEvents(["0-2", ["e", "R|f|0||engine|100", "e", "node.ready|g|0|pending|api|"]]).map((e) => e.actor)).toEqual(["engine", "api"]);
    // Each entry starts afresh: an actor is never carried over from another entry.
    expect(decodeEvents(["0-6", ["e", "C|e|1||w2|300"]])[0]).toMatchObject({ seq: 6, actor: "w2" });
  });

  it("decode entries written before them, and entries that inherit at, tenant and run", () => {
    const events = decodeEvents([
      "0-4",
      ["e", "node.ready|a|0|pending|engine|100", "e", "S|a|1||w1||500", "e", "node.started|b|1|ready|w1|100", "d", '{"workerId":"w1","leaseExpiresAt":1}', "e", "C|a|1||w1|200"],
    ]);
    expect(events).toEqual([
      { seq: 1, type: "node.ready", node: "a", attempt: 0, from: "pending", actor: "engine", at: 100 },
      { seq: 2, type: "node.started", node: "a", attempt: 1, from: "ready", actor: "w1", at: 100, data: { workerId: "w1", leaseExpiresAt: 600 } },
      { seq: 3, type: "node.started", node: "b", attempt: 1, from: "ready", actor: "w1", at: 100, data: { workerId: "w1", leaseExpiresAt: 1 } },
      { seq: 4, type: "node.succeeded", node: "a", attempt: 1, from: "running", actor: "w1", at: 200 },
    ]);
    const out = decodeOutbox(2, ["7-0", ["e", "C|t1|d1|a|ag|1|100", "e", "R|||b|ag|0|", "e", "NodeWaiting|t2||c||0|150|3|0"]]);
    expect(out).toEqual([
      { id: "7-0/0", shard: 2, type: "NodeSucceeded", tenant: "t1", dagId: "d1", nodeId: "a", agent: "ag", attempt: 1, at: 100 },
      { id: "7-0/1", shard: 2, type: "NodeReady", tenant: "t1", dagId: "d1", nodeId: "b", agent: "ag", attempt: 0, at: 100 },
      { id: "7-0/2", shard: 2, type: "NodeWaiting", tenant: "t2", dagId: "d1", nodeId: "c", attempt: 0, at: 150, waitGen: 3 },
    ]);
  });
});
