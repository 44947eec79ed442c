import { ConflictError } from "../errors.js";
import type { StateEntry, StateRef, WriteResult, Writer } from "./types.js";

/** The part of a store `update` needs; StateStore has it, and so can an HTTP client. */
export interface VersionedStore {
  read(ref: StateRef): Promise<StateEntry | undefined>;
  put(ref: StateRef, value: unknown, opts: { expectedVersion: number; writer?: Writer }): Promise<WriteResult>;
  create(ref: StateRef, value: unknown, opts?: { writer?: Writer }): Promise<WriteResult>;
}

export interface UpdateOptions {
  /** Re-tries after a conflict before giving up with it. Default 10. */
  retries?: number;
  /** Backoff before the first retry; doubles each retry, full jitter. Default 5 ms. */
  backoffMs?: number;
  /** Cap of one backoff. Default 1000 ms. */
  maxBackoffMs?: number;
  writer?: Writer;
}

export interface UpdateResult extends WriteResult {
  value: unknown;
  /** Writes tried, the successful one included. */
  attempts: number;
}

/**
 * The agent's read -> think -> write loop without a lock: reads the key, computes the next
 * value with `fn(current)` (current is undefined when the key does not exist; the write
 * then creates it), and writes it with compare-and-set on the version read. If another
 * writer got there first, it re-reads and re-applies `fn` after a backoff, so `fn` must be
 * safe to run more than once. Gives up with the ConflictError after `retries` re-tries.
 * Errors thrown by `fn` (or a conflict that re-reading cannot fix, such as changing the
 * state of a key under a machine) propagate at once.
 */
export async function update<T = unknown>(
  store: VersionedStore,
  ref: StateRef,
  fn: (current: T | undefined, entry: StateEntry | undefined) => unknown,
  opts: UpdateOptions = {},
): Promise<UpdateResult> {
  const retries = opts.retries ?? 10;
  for (let attempt = 0; ; attempt++) {
    const entry = await store.read(ref);
    const value = await fn(entry?.value as T | undefined, entry);
    try {
      const w = entry
        ? await store.put(ref, value, { expectedVersion: entry.version, writer: opts.writer })
        : await store.create(ref, value, { writer: opts.writer });
      return { ...w, value, attempts: attempt + 1 };
    } catch (err) {
      if (!isRace(err) || attempt >= retries) throw err;
    }
    await sleep(backoffDelay(attempt, opts.backoffMs, opts.maxBackoffMs));
  }
}

/** A conflict that a fresh read resolves: someone wrote (or created) the key since our read. */
function isRace(err: unknown): boolean {
  if (!(err instanceof ConflictError)) return false;
  const reason = err.details?.reason;
  return reason === "version" || reason === "exists";
}

/** Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^attempt)). */
export function backoffDelay(attempt: number, baseMs = 5, capMs = 1000): number {
  return Math.random() * Math.min(capMs, baseMs * 2 ** attempt);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
