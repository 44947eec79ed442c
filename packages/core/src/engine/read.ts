import type { OnFailure } from "../dag/spec.js";
import { hash, parseJson } from "./codec.js";
import type { NodeError, NodeStatus, NodeView, RunStatus, RunView } from "./types.js";

const STATUSES: NodeStatus[] = ["pending", "ready", "running", "succeeded", "failed", "retrying", "skipped", "cancelled"];

/** Builds the public view of a run from read_run.lua's hash dumps. */
export function readRunView(tenant: string, dagId: string, raw: Record<string, unknown>): RunView {
  const meta = hash(raw.meta);
  const status = hash(raw.status);
  const agent = hash(raw.agent);
  const deps = hash(raw.deps);
  const attempt = hash(raw.attempt);
  const lease = hash(raw.lease);
  const error = hash(raw.error);
  const output = raw.output ? hash(raw.output) : undefined;
  const input = raw.input ? hash(raw.input) : undefined;
  const order = typeof raw.order === "string" && raw.order ? raw.order.split(",") : [...status.keys()];

  const counts = Object.fromEntries(STATUSES.map((s) => [s, Number(meta.get(`c:${s}`) ?? 0)])) as Record<NodeStatus, number>;
  const nodes = order.map((id): NodeView => {
    const s = status.get(id) as NodeStatus;
    const view: NodeView = {
      id,
      agent: agent.get(id) ?? "",
      deps: deps.get(id)?.split(",") ?? [],
      status: s,
      attempt: Number(attempt.get(id) ?? 0),
    };
    if (input?.has(id)) view.input = parseJson(input.get(id));
    if (output?.has(id)) view.output = parseJson(output.get(id));
    if (error.has(id) && s !== "succeeded") view.error = parseJson(error.get(id)) as NodeError;
    const l = lease.get(id);
    if (l && s === "running") {
      const [, exp, worker] = l.split("|");
      view.leaseExpiresAt = Number(exp);
      view.workerId = worker;
    }
    return view;
  });

  const finishedAt = meta.get("finishedAt");
  return {
    dagId,
    tenant,
    status: meta.get("status") as RunStatus,
    onFailure: (meta.get("onFailure") ?? "fail-fast") as OnFailure,
    createdAt: Number(meta.get("createdAt")),
    ...(finishedAt ? { finishedAt: Number(finishedAt) } : {}),
    counts,
    nodes,
  };
}
