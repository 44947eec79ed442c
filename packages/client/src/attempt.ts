import { ConflictError, NotFoundError, ValidationError, WeftError, type NodeError, type Task } from "@weft/core/sdk";
import { additionOf, LeaseLostError, ShutdownError, Suspend, taskContext, type AgentHandler } from "./context.js";
import type { WeftClient } from "./client.js";
import { inTaskSpan } from "./tracing.js";

/**
 * One attempt of one task, as both worker modes run it: the handler with its context,
 * heartbeats that keep the lease while it runs (and abort its signal once the lease is
 * lost), then the report: complete with the output, or fail (retryable unless the error
 * says otherwise). A lost lease is never reported on: the node belongs to someone else.
 */

export type Outcome = "completed" | "failed" | "lost" | "released" | "suspended";

export interface AttemptOptions {
  leaseMs: number;
  heartbeatMs: number;
  workerId: string;
  log: (line: string) => void;
  /** Asked at completion time: claim this agent's next task in the same round trip. */
  claimNext?: () => { agent: string; max: number } | undefined;
}

export interface Attempt {
  readonly task: Task;
  /** running: the handler runs; reporting: its result is being sent; done: settled. */
  readonly phase: "running" | "reporting" | "releasing" | "done";
  /** Settles once the handler returned and its result was reported (or dropped). */
  readonly settled: Promise<{ outcome: Outcome; next: Task[] }>;
  /**
   * Shutdown past the grace period: aborts the handler's signal and gives the lease back,
   * so the node is ready again at once. Resolves when the release was answered; the
   * handler's late result is dropped.
   */
  giveBack(): Promise<Outcome>;
}

const MAX_MESSAGE = 16_000;

/** A thrown value as the API's NodeError: message, plus name and code when they say something. */
export function nodeError(err: unknown): NodeError {
  const e = err as { message?: unknown; name?: unknown; code?: unknown } | null | undefined;
  const raw = e && typeof e === "object" && typeof e.message === "string" ? e.message : String(err);
  const out: NodeError = { message: (raw || "error").slice(0, MAX_MESSAGE) };
  if (e && typeof e === "object") {
    if (typeof e.name === "string" && e.name !== "Error") out.name = e.name;
    if (typeof e.code === "string" || typeof e.code === "number") out.code = e.code;
  }
  return out;
}

/** NonRetryableError, or any thrown value that carries `retryable: false`. */
export function isRetryable(err: unknown): boolean {
  return !(err && typeof err === "object" && (err as { retryable?: unknown }).retryable === false);
}

/** Errors worth sending again: the network, 5xx, 429. A typed 4xx answer will not change. */
function transient(err: unknown): boolean {
  return !(err instanceof WeftError) || err.code === "unavailable" || err.code === "rate_limited";
}

const isLeaseGone = (err: unknown) => err instanceof ConflictError || err instanceof NotFoundError;

const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

export function startAttempt(client: WeftClient, task: Task, handler: AgentHandler, o: AttemptOptions): Attempt {
  const controller = new AbortController();
  let phase: Attempt["phase"] = "running";
  // Local clock of the last lease extension the server confirmed (server time may be skewed).
  let confirmedAt = Date.now();
  let beating: Promise<void> | undefined;
  let givingBack: Promise<Outcome> | undefined;

  const lose = (why: string, cause?: unknown) => {
    if (controller.signal.aborted) return;
    o.log(`lease of ${task.dagId}/${task.nodeId}#${task.attempt} lost: ${why}`);
    controller.abort(new LeaseLostError(`lease of ${task.nodeId} attempt ${task.attempt} lost: ${why}`, { cause }));
  };
  const leaseLapsed = () => Date.now() - confirmedAt >= o.leaseMs;

  const heartbeat = async (): Promise<void> => {
    if (controller.signal.aborted) throw controller.signal.reason;
    try {
      const r = await client.heartbeat(task, o.leaseMs);
      task.leaseExpiresAt = r.leaseExpiresAt;
      confirmedAt = Date.now();
    } catch (err) {
      if (isLeaseGone(err)) lose((err as Error).message, err);
      else if (leaseLapsed()) lose(`no heartbeat answered within the lease (${(err as Error).message})`, err);
      throw controller.signal.aborted ? controller.signal.reason : err;
    }
  };
  const timer = setInterval(() => {
    if (beating || controller.signal.aborted || (phase !== "running" && phase !== "reporting")) return;
    beating = heartbeat()
      .catch((err: unknown) => {
        if (!controller.signal.aborted) o.log(`heartbeat of ${task.dagId}/${task.nodeId} failed, retrying: ${(err as Error).message}`);
      })
      .finally(() => (beating = undefined));
  }, o.heartbeatMs);

  // Sends a report until it lands; "lost" when the lease is gone (or lapsed while unreachable).
  async function report<T>(send: () => Promise<T>): Promise<T | "lost"> {
    for (let i = 0; ; i++) {
      try {
        return await send();
      } catch (err) {
        if (isLeaseGone(err)) {
          lose((err as Error).message, err);
          return "lost";
        }
        if (!transient(err)) throw err;
        if (leaseLapsed()) {
          lose(`report not answered within the lease (${(err as Error).message})`, err);
          return "lost";
        }
        o.log(`report of ${task.dagId}/${task.nodeId} failed, retrying: ${(err as Error).message}`);
        await sleep(Math.min(100 * 2 ** i, 2000));
      }
    }
  }

  async function fail(err: unknown, retryable: boolean): Promise<Outcome> {
    const r = await report(() => client.fail(task, nodeError(err), { retryable }));
    return r === "lost" ? "lost" : "failed";
  }

  async function suspend(s: Suspend): Promise<Outcome> {
    const r = await report(() =>
      client.suspend(task, s.options.wait ?? {}, { ...(s.options.input !== undefined ? { input: s.options.input } : {}), workerId: o.workerId }),
    );
    return r === "lost" ? "lost" : "suspended";
  }

  async function complete(output: unknown): Promise<{ outcome: Outcome; next: Task[] }> {
    const next = o.claimNext?.();
    const add = additionOf(ctx);
    const opts = { workerId: o.workerId, ...(next ? { claimNext: { ...next, leaseMs: o.leaseMs, workerId: o.workerId } } : {}), ...(add ? { add } : {}) };
    const send = () =>
      client.complete(task, output, opts).catch((err: unknown) => {
        if (err instanceof TypeError && isUnserializable(output)) throw new ValidationError(`output is not JSON: ${err.message}`, "output");
        throw err;
      });
    try {
      const r = await report(send);
      return r === "lost" ? { outcome: "lost", next: [] } : { outcome: "completed", next: r.next ?? [] };
    } catch (err) {
      // An output the API refuses (too large, not JSON) fails the node: sending it again would not help.
      return { outcome: await fail(err, false), next: [] };
    }
  }

  const ctx = taskContext(client, task, controller.signal, heartbeat);
  const settled = inTaskSpan(task, async (): Promise<{ outcome: Outcome; next: Task[] }> => {
    try {
      let output: unknown;
      let thrown: { err: unknown } | undefined;
      try {
        output = await handler(task, ctx);
      } catch (err) {
        thrown = { err };
      }
      if (givingBack) return { outcome: await givingBack, next: [] };
      if (controller.signal.aborted) return { outcome: "lost", next: [] };
      phase = "reporting";
      if (thrown?.err instanceof Suspend) return { outcome: await suspend(thrown.err), next: [] };
      if (thrown) return { outcome: await fail(thrown.err, isRetryable(thrown.err)), next: [] };
      return await complete(output);
    } catch (err) {
      // A report the API refused for good (e.g. 401): the lease lapses and reconcile retries the node.
      o.log(`could not report ${task.dagId}/${task.nodeId}#${task.attempt}: ${(err as Error).message}`);
      return { outcome: "lost", next: [] };
    } finally {
      clearInterval(timer);
      if ((phase as Attempt["phase"]) !== "releasing") phase = "done";
    }
  }, (s) => s.outcome);

  return {
    task,
    get phase() {
      return phase;
    },
    settled,
    giveBack() {
      if (phase !== "running") return givingBack ?? settled.then((s) => s.outcome);
      phase = "releasing";
      clearInterval(timer);
      controller.abort(new ShutdownError());
      givingBack = report(() => client.release(task, o.workerId)).then(
        (r) => (r === "lost" ? "lost" : "released"),
        (err: unknown) => {
          o.log(`release of ${task.dagId}/${task.nodeId} failed (the lease will expire): ${(err as Error).message}`);
          return "lost" as const;
        },
      );
      return givingBack;
    },
  };
}

function isUnserializable(value: unknown): boolean {
  try {
    JSON.stringify(value);
    return false;
  } catch {
    return true;
  }
}
