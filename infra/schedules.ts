/**
 * Scheduled functions as plain data: SST creates an EventBridge schedule per entry
 * (infra/stack/index.ts); the local emulator runs the same handlers on a timer.
 */
export interface Schedule {
  /** Unique, PascalCase: names the cron in AWS. */
  name: string;
  handler: string;
  schedule: `rate(${string})` | `cron(${string})`;
}

export const schedules: readonly Schedule[] = [
  // Expires lost leases, makes due retries ready and relays every shard's outbox: the
  // backstop behind invariant 6 (an event survives a function dying before PutEvents).
  { name: "Reconcile", handler: "functions/reconcile.handler", schedule: "rate(1 minute)" },
];
