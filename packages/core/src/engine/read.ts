import type { OnFailure } from "../dag/spec.js";
import { hash, parseJson } from "./codec.js";
import { emptyCounts } from "./fold.js";
import type { RunRows } from "./scripts.js";
import type { NodeError, NodeStatus, NodeView, RunStatus, RunView, SignalRecord } from "./types.js";
import { unpackWait } from "../dag/wait.js";

/** Builds the public view of a run from read_run.lua's reply (meta dump + one HMGET per node). */
export function readRunView(tenant: string, dagId: string, raw: RunRows): RunView {
  const meta = hash(raw.meta);
  const order = typeof raw.order === "string" && raw.order ? raw.order.split(",") : [];
  const fields = raw.fields;
  const rows = raw.nodes;
  const counts = emptyCounts();

  const nodes = order.map((id, i): NodeView => {
    const row = rows[i] ?? [];
    const f = (name: string): string | undefined => {
      const v = row[fields.indexOf(name)];
      return typeof v === "string" ? v : undefined;
    };
    const status = f("s") as NodeStatus;
    counts[status]++;
    const view: NodeView = { id, agent: f("g") ?? "", deps: f("d") ? f("d")!.split(",") : [], status, attempt: Number(f("a") ?? 0) };
    if (f("i") !== undefined) view.input = parseJson(f("i"));
    if (f("o") !== undefined) view.output = parseJson(f("o"));
    if (f("e") !== undefined && status !== "succeeded") view.error = parseJson(f("e")) as NodeError;
    const ab = f("ab");
    if (ab !== undefined) {
      const bar = ab.indexOf("|");
      view.addedBy = bar > 0 ? { node: ab.slice(0, bar), attempt: Number(ab.slice(bar + 1)) } : { actor: ab.slice(bar + 1) };
    }
    const j = f("j");
    if (j !== undefined) view.join = { min: Number(j) };
    const onFailure = f("f");
    if (onFailure !== undefined) view.onFailure = onFailure as OnFailure;
    const lease = f("l");
    if (lease && status === "running") {
      const [, exp, worker] = lease.split("|");
      view.leaseExpiresAt = Number(exp);
      view.workerId = worker;
    }
    const w = f("W");
    if (w !== undefined) {
      const deadline = Number(f("wd") ?? 0);
      view.wait = { gen: Number(f("wg") ?? 0), ...unpackWait(w), ...(status === "waiting" && deadline > 0 ? { timeoutAt: deadline } : {}) };
      if (f("su")) view.wait.suspended = true;
      if (f("wi") !== undefined) view.wait.input = parseJson(f("wi"));
    }
    if (f("sg")) view.signal = parseJson(f("sg")) as SignalRecord;
    return view;
  });

  const finishedAt = meta.get("finishedAt");
  const pausedAt = meta.get("pz");
  const stored = meta.get("status") as RunStatus;
  return {
    dagId,
    tenant,
    // A paused run is running underneath; it shows as paused until it is resumed.
    status: stored === "running" && pausedAt ? "paused" : stored,
    onFailure: (meta.get("onFailure") ?? "fail-fast") as OnFailure,
    createdAt: Number(meta.get("createdAt")),
    ...(finishedAt ? { finishedAt: Number(finishedAt) } : {}),
    ...(pausedAt && stored === "running" ? { pausedAt: Number(pausedAt) } : {}),
    counts,
    nodes,
  };
}
