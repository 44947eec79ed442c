import { list } from "../redis/contract.js";
import type { NodeStatus, OutboxEvent, OutboxEventType, RunEvent, EventType } from "./types.js";

/**
 * Decoding what the DAG scripts store and return: hash dumps arrive as flat
 * [field, value, ...] arrays; event log and outbox entries are packed fields.
 */
export function hash(x: unknown): Map<string, string> {
  const flat = list<string>(x);
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) m.set(flat[i]!, flat[i + 1]!);
  return m;
}

export function parseJson(raw: string | false | undefined | null): unknown {
  if (raw === false || raw === undefined || raw === null || raw === "") return undefined;
  return JSON.parse(raw);
}

type StreamEntry = [string, string[]];

/**
 * One-letter shorthands the scripts write for the commonest events (redis/lua/includes/call.lua
 * holds the same tables, LOG_SHORT and OUT_SHORT; test/engine/codec.test.ts compares them):
 * in the event log a (type, from) pair, in the outbox a type.
 */
export const LOG_SHORT: Readonly<Record<string, readonly [EventType, NodeStatus]>> = {
  R: ["node.ready", "pending"],
  S: ["node.started", "ready"],
  C: ["node.succeeded", "running"],
};
export const OUT_SHORT: Readonly<Record<string, OutboxEventType>> = { R: "NodeReady", C: "NodeSucceeded" };

/**
 * An event log entry: the events one script call appended to the run (redis/lua/includes/call.lua),
 * each a packed field `e` = "type|node|attempt|from|actor|at[|lease]" (type and from may be a
 * LOG_SHORT letter and "") and an optional JSON `d`.
 * An empty `at` is the previous event's in the entry; an empty actor is "engine" in a short
 * node.ready (`R`) and otherwise the previous actor of an event that is not one (an actor is
 * never empty: entries written before that rule had every actor); `lease` stands for the data
 * { workerId: actor, leaseExpiresAt: at + lease } (a node.started). The entry id is
 * `0-<seq of its last event>`; the events before it have the seqs before that.
 */
export function decodeEvents(entry: StreamEntry): RunEvent[] {
  const [id, flat] = entry;
  const events: RunEvent[] = [];
  let lastAt = 0;
  let lastActor = "";
  for (let i = 0; i < flat.length; i += 2) {
    if (flat[i] === "d") {
      events[events.length - 1]!.data = JSON.parse(flat[i + 1]!) as Record<string, unknown>;
      continue;
    }
    const [code, node, attempt, fromText, actorText, atText, lease] = flat[i + 1]!.split("|");
    let actor: string;
    if (code === "R") actor = actorText || "engine";
    else lastActor = actor = actorText || lastActor;
    const short = LOG_SHORT[code!];
    const type = short ? short[0] : (code as EventType);
    const from = short ? short[1] : fromText;
    const at = atText ? Number(atText) : lastAt;
    lastAt = at;
    const ev: RunEvent = { seq: 0, type, actor, at };
    if (node) ev.node = node;
    if (attempt) ev.attempt = Number(attempt);
    if (from) ev.from = from as NodeStatus;
    if (lease) ev.data = { workerId: actor, leaseExpiresAt: at + Number(lease) };
    events.push(ev);
  }
  const last = Number(id.slice(id.indexOf("-") + 1));
  events.forEach((e, i) => (e.seq = last - events.length + 1 + i));
  return events;
}

/** The stream fields of an event, as append_event (redis/lua/includes/call.lua) writes them. */
export function encodeEvent(e: RunEvent): string[] {
  const packed = [e.type, e.node ?? "", e.attempt ?? "", e.from ?? "", e.actor, e.at].join("|");
  return e.data === undefined ? ["e", packed] : ["e", packed, "d", JSON.stringify(e.data)];
}

/**
 * An outbox entry: the outbox events of one script call, each a packed field `e` =
 * "type|tenant|dagId|node|agent|attempt|at[|gen|deadline[|traceparent]]" (type may be an
 * OUT_SHORT letter; a NodeReady's gen and deadline are empty), where an empty tenant, dagId or
 * at is the previous event's in the entry. Each event is acked by its entry's id; its own id
 * (`<entry id>/<index>`) is what subscribers dedupe on.
 */
export function decodeOutbox(shard: number, entry: StreamEntry): OutboxEvent[] {
  const [entryId, flat] = entry;
  const out: OutboxEvent[] = [];
  let last = { tenant: "", dagId: "", at: 0 };
  for (let i = 1; i < flat.length; i += 2) {
    const [code, tenantText, dagText, node, agent, attempt, atText, gen, deadline, traceparent] = flat[i]!.split("|");
    const type = OUT_SHORT[code!] ?? (code as OutboxEventType);
    const tenant = tenantText || last.tenant;
    const dagId = dagText || last.dagId;
    const at = atText ? Number(atText) : last.at;
    last = { tenant, dagId, at };
    const ev: OutboxEvent = { id: `${entryId}/${(i - 1) / 2}`, shard, type, tenant, dagId, at };
    if (node) {
      ev.nodeId = node;
      ev.attempt = Number(attempt);
    }
    if (agent) ev.agent = agent;
    if (gen) ev.waitGen = Number(gen);
    if (deadline && deadline !== "0") ev.waitDeadline = Number(deadline);
    if (traceparent) ev.traceparent = traceparent;
    out.push(ev);
  }
  return out;
}
