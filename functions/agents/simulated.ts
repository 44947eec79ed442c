import { createClient } from "@weft/client";
import { ConflictError, type BusEvent, type Task } from "@weft/core";

/**
 * The example's agents (planner, researcher, writer, reviewer), simulated. Each is a plain
 * client of the public API, as a real agent's Lambda would be: on NodeReady for its
 * agent it claims that node, "thinks" for a while, and completes it - or, when the input
 * says `failFirstAttempt`, fails attempt 1 as a retryable rate limit to show a retry.
 * Env: WEFT_API_URL, WEFT_API_KEY (omit for the local dev tenant), WEFT_SIM_SPEED
 * (think-time factor, default 1; 0 for no waiting).
 */

type SimTask = Task & { input?: { topic?: string; angle?: string; reads?: string[]; failFirstAttempt?: boolean } | null };

const THINK_MS: Record<string, number> = { planner: 400, researcher: 900, writer: 700, reviewer: 400 };

export const handler = async (event: BusEvent) => {
  const { dagId, nodeId, agent } = event.detail;
  if (event["detail-type"] !== "NodeReady" || !nodeId || !agent) return { skipped: "not a NodeReady event" };
  const weft = client();
  let task: SimTask;
  try {
    task = (await weft.claimNode(dagId, nodeId, { workerId: `sim-${agent}`, leaseMs: 60_000 })) as SimTask;
  } catch (err) {
    // Another worker (or a duplicate delivery) got it first: at-least-once delivery, one claim.
    if (err instanceof ConflictError) return { skipped: "already claimed" };
    throw err;
  }

  await sleep((THINK_MS[agent] ?? 500) * speed() * (0.5 + Math.random()));
  if (task.input?.failFirstAttempt && task.attempt === 1) {
    const r = await weft.fail(task, { message: "simulated 429: rate limited by the model provider" }, true);
    return { failed: true, status: r.status };
  }
  await weft.complete(task, outputOf(task), { workerId: `sim-${agent}` });
  return { completed: true };
};

function outputOf(task: SimTask): unknown {
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

function client() {
  const baseUrl = process.env.WEFT_API_URL;
  if (!baseUrl) throw new Error("WEFT_API_URL is not set");
  return createClient({ baseUrl, ...(process.env.WEFT_API_KEY ? { apiKey: process.env.WEFT_API_KEY } : {}) });
}

function speed(): number {
  const s = Number(process.env.WEFT_SIM_SPEED ?? "1");
  return Number.isFinite(s) && s >= 0 ? s : 1;
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
