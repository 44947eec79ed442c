import { checkId, checkInt } from "../checks.js";
import { ValidationError } from "../errors.js";
import { FINISHED_RUN_STATUSES, RUN_STATUSES } from "../engine/status.js";
import type { RunStatus } from "../engine/types.js";
import type { RunArchive } from "./port.js";

/** Bad input to the cold store: a ValidationError naming the field, before any write. */

const FINISHED: readonly RunStatus[] = FINISHED_RUN_STATUSES;

export { checkId, checkInt } from "../checks.js";

export function checkStatus(value: unknown, field: string): RunStatus {
  if (!(RUN_STATUSES as readonly unknown[]).includes(value)) {
    throw new ValidationError(`${field} must be one of ${RUN_STATUSES.join(", ")}`, field);
  }
  return value as RunStatus;
}

export function checkArchive(archive: RunArchive): void {
  checkId(archive.tenant, "tenant");
  const s = archive.snapshot;
  if (typeof s !== "object" || s === null) throw new ValidationError("snapshot is required", "snapshot");
  checkId(s.dagId, "snapshot.dagId");
  if (s.tenant !== archive.tenant) throw new ValidationError("snapshot.tenant must equal tenant", "snapshot.tenant");
  // Only finished runs are archived: a running run's state still changes in Redis.
  if (!FINISHED.includes(s.status)) throw new ValidationError(`snapshot.status must be one of ${FINISHED.join(", ")}`, "snapshot.status");
  checkInt(s.createdAt, "snapshot.createdAt", 0, Number.MAX_SAFE_INTEGER);
  if (s.finishedAt !== undefined) checkInt(s.finishedAt, "snapshot.finishedAt", 0, Number.MAX_SAFE_INTEGER);
  checkInt(archive.archivedAt, "archivedAt", 0, Number.MAX_SAFE_INTEGER);
  if (!Array.isArray(archive.events)) throw new ValidationError("events must be an array", "events");
  let prev = 0;
  archive.events.forEach((e, i) => {
    // Pages are cut by seq, so the log must be in seq order without repeats.
    if (typeof e?.seq !== "number" || !Number.isInteger(e.seq) || e.seq <= prev) {
      throw new ValidationError(`events[${i}].seq must be an integer greater than the previous event's`, `events[${i}].seq`);
    }
    prev = e.seq;
  });
}
