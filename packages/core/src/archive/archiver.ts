import type { Maintenance, RunExport } from "../engine/types.js";
import type { ColdStore } from "./port.js";

export interface ArchiverOptions {
  engine: Maintenance;
  cold: ColdStore;
  /** How long a run stays in Redis after its archive is confirmed. Default 24 h. */
  hotTtlSeconds?: number;
  /** A finished run not flushed this long after it finished is flushed by reconcile. Default 60 s. */
  overdueAfterMs?: number;
  now?: () => number;
  /** Told of each run whose overdue flush failed (it is retried); default: a warning naming the run and the error's message. */
  onFlushError?: (ref: { tenant: string; dagId: string }, err: unknown) => void;
  /**
   * Told of each run once its archive is written (before its release), with what was
   * written: the functions count the run's transitions from it (functions/metrics/runs.ts).
   * Must not throw.
   */
  onFlushed?: (run: RunExport) => void;
}

export interface FlushResult {
  flushed: boolean;
  /** False when the run was resumed (redrive/rewind) between the export and the release. */
  released: boolean;
  reason?: string;
}

/**
 * The cache-aside flush: a finished run's snapshot and event log go to the cold store,
 * and only once that write is confirmed do its Redis keys get a TTL. Every step is
 * idempotent, so a flush that fails anywhere is simply run again (by the DagFinished
 * subscriber's retries, or by reconcile through the `finished` index).
 */
export function createArchiver(o: ArchiverOptions) {
  const hotTtlSeconds = o.hotTtlSeconds ?? 24 * 3600;
  const overdueAfterMs = o.overdueAfterMs ?? 60_000;
  const now = o.now ?? Date.now;

  async function flush(tenant: string, dagId: string): Promise<FlushResult> {
    const run = await o.engine.exportRun(tenant, dagId);
    if (run.snapshot.status === "running") return { flushed: false, released: false, reason: "run is still running" };
    const archivedAt = now();
    await o.cold.putRun({ tenant, snapshot: run.snapshot, events: run.events, spec: run.spec, archivedAt });
    o.onFlushed?.(run);
    const released = await o.engine.releaseRun(tenant, dagId, { ttlSeconds: hotTtlSeconds, archivedAt });
    return { flushed: true, released };
  }

  /** The reconcile backstop: flushes finished runs whose flush is overdue. O(overdue runs). */
  async function flushOverdue(limit = 100): Promise<{ flushed: number; failed: number }> {
    const due = await o.engine.finishedRuns({ olderThan: now() - overdueAfterMs, limit });
    let flushed = 0;
    let failed = 0;
    for (const { tenant, dagId } of due) {
      try {
        if ((await flush(tenant, dagId)).flushed) flushed++;
      } catch (err) {
        failed++;
        // Never the error object itself: a Redis client's error carries the command's arguments.
        (o.onFlushError ?? ((ref, e) => console.warn(`weft: flush of ${ref.tenant}/${ref.dagId} failed; it stays in the finished index and is retried: ${e instanceof Error ? e.message : String(e)}`)))(
          { tenant, dagId },
          err,
        );
      }
    }
    return { flushed, failed };
  }

  return { flush, flushOverdue, hotTtlSeconds };
}

export type Archiver = ReturnType<typeof createArchiver>;
