import { StreamUnavailableError, type WeftClient } from "@weft/client";
import type { RunEvent, RunStatus } from "@weft/core/sdk";

const RUN_STATUS_OF: Partial<Record<RunEvent["type"], RunStatus>> = {
  "run.succeeded": "succeeded",
  "run.failed": "failed",
  "run.cancelled": "cancelled",
  "run.resumed": "running",
};

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface FollowOptions {
  /** Read events after this seq (0: from the start). */
  after: number;
  /** Keep polling until the run has ended and its log is drained; otherwise stop at the end of the log. */
  follow: boolean;
  pollMs?: number;
  /** Called with each non-empty page, in order. */
  onEvents(events: RunEvent[]): void;
  /** Called whenever the log is drained and the run still running (a place to redraw a clock). */
  onIdle?(): void;
}

/**
 * Follows a run: over its event stream (`GET /v1/dags/{id}/events/stream`, pushed as
 * events happen, resumed by Last-Event-ID after a drop) when following, else (or against
 * an API without the stream) by polling the log as below.
 */
export async function followEvents(client: WeftClient, dagId: string, o: FollowOptions): Promise<{ cursor: number; status?: RunStatus }> {
  if (!o.follow) return pollEvents(client, dagId, o);
  const idle = o.onIdle ? setInterval(() => o.onIdle?.(), o.pollMs ?? 200) : undefined;
  try {
    return await client.stream(dagId, { after: o.after, onEvents: o.onEvents });
  } catch (err) {
    if (!(err instanceof StreamUnavailableError)) throw err;
  } finally {
    clearInterval(idle);
  }
  return pollEvents(client, dagId, o);
}

/**
 * Reads a run's log through `GET /v1/dags/{id}/events?after=cursor`: page after page while
 * there are events, then (when following) every `pollMs` until a run event says the run
 * ended. Started past the run's last run event (`after` > 0), it asks the run its status
 * once, so following a run that already ended returns at once instead of polling forever.
 */
async function pollEvents(client: WeftClient, dagId: string, o: FollowOptions): Promise<{ cursor: number; status?: RunStatus }> {
  let cursor = o.after;
  let status: RunStatus | undefined;
  for (;;) {
    const page = await client.events(dagId, cursor);
    if (page.events.length) {
      for (const e of page.events) status = RUN_STATUS_OF[e.type] ?? status;
      cursor = page.cursor;
      o.onEvents(page.events);
      continue;
    }
    if (!o.follow) return { cursor, ...(status ? { status } : {}) };
    if (status === undefined) {
      // Read the log once more after asking: events may have landed in between.
      status = (await client.getRun(dagId)).status;
      continue;
    }
    if (status !== "running") return { cursor, status };
    o.onIdle?.();
    await sleep(o.pollMs ?? 200);
  }
}
