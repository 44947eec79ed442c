import { ConflictError, PayloadTooLargeError } from "@weft/core";

/**
 * Guarded mode: a put whose parent is not the namespace's latest checkpoint. Another
 * writer moved the thread on; `latestCheckpointId` is where it stands now (undefined: the
 * namespace has no checkpoint yet, so the put named a parent that does not exist).
 */
export class CheckpointConflictError extends ConflictError {
  readonly threadId: string;
  readonly checkpointNs: string;
  readonly parentCheckpointId: string | undefined;
  readonly latestCheckpointId: string | undefined;

  constructor(o: { threadId: string; checkpointNs: string; parentCheckpointId: string | undefined; latestCheckpointId: string | undefined }) {
    super(
      `checkpoint conflict on thread "${o.threadId}"${o.checkpointNs ? ` (namespace "${o.checkpointNs}")` : ""}: ` +
        `the put extends ${o.parentCheckpointId ?? "no checkpoint"} but the latest checkpoint is ${o.latestCheckpointId ?? "none"}`,
      { current: o.latestCheckpointId ?? null },
    );
    this.threadId = o.threadId;
    this.checkpointNs = o.checkpointNs;
    this.parentCheckpointId = o.parentCheckpointId;
    this.latestCheckpointId = o.latestCheckpointId;
  }
}

/** A checkpoint (or a task's writes) bigger than `maxCheckpointBytes`, refused before Redis sees it. */
export class CheckpointTooLargeError extends PayloadTooLargeError {
  constructor(
    readonly threadId: string,
    readonly bytes: number,
    readonly limit: number,
    what = "checkpoint",
  ) {
    super(`${what} of thread "${threadId}" is ${bytes} bytes serialized, over the limit of ${limit} bytes (maxCheckpointBytes)`, "checkpoint");
  }
}
