import type { EventBridgeEvent } from "aws-lambda";

/**
 * The example's simulated agents (planner, researcher, writer, reviewer). A real agent is
 * an LLM or tool call; these sleep a little and write plausible outputs, so a newcomer
 * sees a run go end to end. Each is what an agent Lambda subscribed to its NodeReady
 * events does: claim the node over the HTTP API (push delivery), work while holding the
 * lease, then complete or fail with the lease token.
 *
 * Env: WEFT_API_URL (the API's base URL), WEFT_API_KEY (bearer key, optional locally),
 * WEFT_SIM_SPEED (multiplies the simulated think times; default 1).
 */
type Detail = { dagId: string; nodeId: string; agent: string; attempt?: number };

interface Task {
  dagId: string;
  nodeId: string;
  agent: string;
  input: Record<string, unknown> | undefined;
  attempt: number;
  leaseToken: string;
}

const THINK_MS: Record<string, [number, number]> = {
  planner: [300, 600],
  researcher: [500, 1400],
  writer: [600, 1000],
  reviewer: [300, 500],
};

async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const base = process.env.WEFT_API_URL;
  if (!base) throw new Error("WEFT_API_URL is not set");
  const res = await fetch(new URL(path, base), {
    method,
    headers: {
      "content-type": "application/json",
      ...(process.env.WEFT_API_KEY ? { authorization: `Bearer ${process.env.WEFT_API_KEY}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

async function depOutputs(dagId: string, deps: string[]): Promise<Record<string, unknown>> {
  if (!deps.length) return {};
  const { body } = await api<{ nodes: { id: string; output?: unknown }[] }>("GET", `/v1/dags/${dagId}`);
  return Object.fromEntries(body.nodes.filter((n) => deps.includes(n.id)).map((n) => [n.id, n.output]));
}

function work(task: Task, upstream: Record<string, unknown>): unknown {
  const topic = String(task.input?.topic ?? "the topic");
  switch (task.agent) {
    case "planner":
      return { plan: ["market size", "competitors", "regulation"].map((a) => `${a} of ${topic}`) };
    case "researcher":
      return { angle: task.input?.angle, findings: [`3 sources on ${String(task.input?.angle)}`, "1 contradiction flagged"] };
    case "writer":
      return { draft: `A ${Object.keys(upstream).length}-part brief on ${topic}`, words: 850 };
    case "reviewer":
      return { verdict: "approved", notes: ["tighten the intro"] };
    default:
      return { ok: true };
  }
}

export const handler = async (event: EventBridgeEvent<"NodeReady", Detail>) => {
  const { dagId, nodeId } = event.detail;
  const workerId = `sim-${event.detail.agent}`;
  const claim = await api<{ task?: Task }>("POST", `/v1/dags/${dagId}/nodes/${nodeId}/claim`, { leaseMs: 15_000, workerId });
  // 409: another delivery of this event (at-least-once) or a pull worker took the node.
  if (claim.status !== 200 || !claim.body.task) return { skipped: claim.status };
  const task = claim.body.task;

  const [lo, hi] = THINK_MS[task.agent] ?? [200, 400];
  await sleep((lo + Math.random() * (hi - lo)) * Number(process.env.WEFT_SIM_SPEED ?? 1));

  if (task.input?.failFirstAttempt && task.attempt === 1) {
    await api("POST", `/v1/dags/${dagId}/nodes/${nodeId}/fail`, {
      leaseToken: task.leaseToken,
      error: { message: "simulated 429 from the model provider", code: "rate_limited" },
      retryable: true,
    });
    return { failed: nodeId };
  }
  const deps = Array.isArray(task.input?.reads) ? (task.input.reads as string[]) : [];
  const output = work(task, await depOutputs(dagId, deps));
  await api("POST", `/v1/dags/${dagId}/nodes/${nodeId}/complete`, { leaseToken: task.leaseToken, output });
  return { completed: nodeId };
};
