import type { EventPage, RunEvent, RunStatus, RunSummary, RunView } from "../engine/types.js";

/** Everything kept of a finished run once Redis lets it go. */
export interface RunArchive {
  tenant: string;
  /** The run's final state: every node's status, output, error, attempts. */
  snapshot: RunView;
  /** The whole event log, seq ascending. */
  events: RunEvent[];
  /** The run's definition as submitted, so a redrive can rebuild it. */
  spec?: unknown;
  /** Epoch ms of the flush; retention (the TTL attribute) counts from here. */
  archivedAt: number;
}

export type { RunSummary };

export interface ListRunsOptions {
  status?: RunStatus;
  /** Epoch ms: only runs created at or after it. */
  since?: number;
  /** 1..1000, default 50. */
  limit?: number;
  /** Opaque; from the previous page. */
  cursor?: string;
}

export interface RunList {
  /** Newest first (by createdAt). */
  runs: RunSummary[];
  /** Present when there may be more; pass back as `cursor`. */
  cursor?: string;
}

/**
 * Long-term storage of finished runs. Writes are idempotent (a retried flush overwrites,
 * never duplicates) and all-or-nothing for readers: a run is visible only once its
 * whole archive is stored. Expired runs (past retention) read as absent.
 */
export interface ColdStore {
  putRun(archive: RunArchive): Promise<void>;
  /** Null when the run was never archived, is another tenant's, or has expired. */
  getRun(tenant: string, dagId: string): Promise<RunArchive | null>;
  /** Same page shape as the engine's `events`; null when the run is not archived. */
  getEvents(tenant: string, dagId: string, opts?: { after?: number; limit?: number }): Promise<EventPage | null>;
  listRuns(tenant: string, opts?: ListRunsOptions): Promise<RunList>;
}
