import type { Redis } from "ioredis";
import { luaScript } from "@weft/core/redis";

const SCRIPT_NAMES = ["submit", "claim", "claim_node", "heartbeat", "complete", "fail", "cancel", "reconcile", "read_run", "read_events"];

export interface ScriptCost {
  script: string;
  calls: number;
  /** Server time per call (microseconds), from SLOWLOG with a 0 us threshold. */
  usPerCall: number;
  totalMs: number;
  /** The log filled up: calls and totals cover only the last part of the run. */
  truncated: boolean;
}

/**
 * Server time per Weft script: SLOWLOG records every command (threshold 0) while `body` runs;
 * entries are grouped by script (FCALL's function name, or EVALSHA's sha). Costs some overhead: a separate pass.
 */
export async function scriptCosts(admin: Redis, body: () => Promise<void>, maxEntries: number): Promise<ScriptCost[]> {
  const bySha = new Map(SCRIPT_NAMES.flatMap((n) => [[luaScript(n).sha, n], [luaScript(n).library.functions.get(n)!, n]]));
  await admin.config("SET", "slowlog-max-len", String(maxEntries));
  await admin.config("SET", "slowlog-log-slower-than", "0");
  await admin.slowlog("RESET");
  try {
    await body();
    const entries = (await admin.slowlog("GET", "-1")) as [number, number, number, string[]][];
    // Scripts' own commands are logged too; a full log means the oldest calls were dropped.
    const truncated = entries.length >= maxEntries;
    const agg = new Map<string, { calls: number; us: number }>();
    for (const [, , us, args] of entries) {
      const cmd = String(args[0]).toLowerCase();
      if (cmd !== "evalsha" && cmd !== "eval" && cmd !== "fcall") continue;
      const name = bySha.get(String(args[1])) ?? (cmd === "eval" ? "eval (NOSCRIPT fallback)" : String(args[1]).slice(0, 8));
      const a = agg.get(name) ?? { calls: 0, us: 0 };
      a.calls++;
      a.us += us;
      agg.set(name, a);
    }
    return [...agg]
      .map(([script, a]) => ({ script, calls: a.calls, usPerCall: a.us / a.calls, totalMs: a.us / 1000, truncated }))
      .sort((x, y) => y.totalMs - x.totalMs);
  } finally {
    await admin.config("SET", "slowlog-log-slower-than", "10000");
    await admin.config("SET", "slowlog-max-len", "128");
    await admin.slowlog("RESET");
  }
}
