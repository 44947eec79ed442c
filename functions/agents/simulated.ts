import type { BusEvent } from "@weft/core";

/**
 * The example's agents (planner, researcher, writer, reviewer), simulated. Each is a plain
 * client of the public API, as a real agent's Lambda would be: on NodeReady for its
 * agent it claims that node, "thinks" for a while, and completes it - or, when the input
 * says `failFirstAttempt`, fails attempt 1 as a retryable rate limit to show a retry.
 * Env: WEFT_API_URL, WEFT_API_KEY (omit for the local dev tenant), WEFT_SIM_SPEED
 * (think-time factor, default 1; 0 for no waiting).
 */

interface Task {
  dagId: string;
  nodeId: string;
  agent: string;
  input: { topic?: string; angle?: string; reads?: string[]; failFirstAttempt?: boolean } | null;
  attempt: number;
  leaseToken: string;
}

const THINK_MS: Record<string, number> = { planner: 400, researcher: 900, writer: 700, reviewer: 400 };

export const handler = async (event: BusEvent) => {
  const { dagId, nodeId, agent } = event.detail;
  if (event["detail-type"] !== "NodeReady" || !nodeId || !agent) return { skipped: "not a NodeReady event" };
  const claim = await api(`/v1/dags/${dagId}/nodes/${nodeId}/claim`, { workerId: `sim-${agent}`, leaseMs: 60_000 });
  // Another worker (or a duplicate delivery) got it first: at-least-once delivery, one claim.
  if (claim.status === 409) return { skipped: "already claimed" };
  if (!claim.ok) throw new Error(`claim ${dagId}/${nodeId} failed: ${claim.status} ${JSON.stringify(claim.body)}`);
  const task = (claim.body as { task: Task }).task;

  await sleep((THINK_MS[agent] ?? 500) * speed() * (0.5 + Math.random()));
  const report = (path: string, body: unknown) => api(`/v1/dags/${dagId}/nodes/${nodeId}/${path}`, body);
  if (task.input?.failFirstAttempt && task.attempt === 1) {
    const r = await report("fail", { leaseToken: task.leaseToken, error: { message: "simulated 429: rate limited by the model provider" }, retryable: true });
    return { failed: true, status: r.status };
  }
  const r = await report("complete", { leaseToken: task.leaseToken, output: outputOf(task), workerId: `sim-${agent}` });
  return { completed: r.ok, status: r.status };
};

function outputOf(task: Task): unknown {
  const topic = task.input?.topic ?? "the topic";
  switch (task.agent) {
    case "planner":
      return { outline: ["market", "competitors", "regulation"].map((a) => `${a} of ${topic}`) };
    case "researcher":
      return { angle: task.input?.angle, findings: [`three facts about the ${task.input?.angle ?? "subject"} of ${topic}`] };
    case "writer":
      return { draft: `A short report on ${topic}, drawing on ${(task.input?.reads ?? []).join(", ")}.` };
    case "reviewer":
      return { verdict: "approved", notes: "clear and sourced" };
    default:
      return { done: true };
  }
}

async function api(path: string, body: unknown): Promise<{ ok: boolean; status: number; body: unknown }> {
  const base = process.env.WEFT_API_URL?.replace(/\/+$/, "");
  if (!base) throw new Error("WEFT_API_URL is not set");
  const key = process.env.WEFT_API_KEY;
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { ok: res.ok, status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

function speed(): number {
  const s = Number(process.env.WEFT_SIM_SPEED ?? "1");
  return Number.isFinite(s) && s >= 0 ? s : 1;
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
