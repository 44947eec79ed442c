/**
 * The statuses of nodes and runs, listed once: NodeStatus and RunStatus (types.ts) are made
 * from these lists, and the cold store's checks, the HTTP schemas and the CLI read them.
 * (The Lua scripts keep their own node list, lua/includes/core.lua's STATUSES.)
 */
export const NODE_STATUSES = ["pending", "ready", "running", "succeeded", "failed", "retrying", "skipped", "cancelled", "waiting"] as const;

/** `paused`: running underneath, but no node of it is handed out until it is resumed. */
export const RUN_STATUSES = ["running", "paused", "succeeded", "failed", "cancelled"] as const;

/** The statuses a run ends in: only such a run is archived. */
export const FINISHED_RUN_STATUSES = ["succeeded", "failed", "cancelled"] as const satisfies readonly (typeof RUN_STATUSES)[number][];
