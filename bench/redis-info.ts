import { Redis } from "ioredis";

/** Commands the harness itself sends (sampling, resets); left out of per-node counts. */
export const HARNESS_COMMANDS = new Set(["info", "flushall", "config", "slowlog", "client", "hello", "ping", "select", "script", "function", "memory", "dbsize", "quit"]);

export type CommandStats = Record<string, { calls: number; usec: number }>;

export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0 && !line.startsWith("#")) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

/** INFO commandstats: `cmdstat_evalsha:calls=12,usec=340,...` -> { evalsha: { calls, usec } }. */
export function parseCommandStats(text: string): CommandStats {
  const out: CommandStats = {};
  for (const [k, v] of parseInfo(text)) {
    if (!k.startsWith("cmdstat_")) continue;
    const f = Object.fromEntries(v.split(",").map((p) => p.split("=") as [string, string]));
    out[k.slice("cmdstat_".length).toLowerCase()] = { calls: Number(f.calls ?? 0), usec: Number(f.usec ?? 0) };
  }
  return out;
}

export function diffStats(before: CommandStats, after: CommandStats): CommandStats {
  const out: CommandStats = {};
  for (const [cmd, a] of Object.entries(after)) {
    const b = before[cmd] ?? { calls: 0, usec: 0 };
    if (a.calls - b.calls > 0) out[cmd] = { calls: a.calls - b.calls, usec: a.usec - b.usec };
  }
  return out;
}

export function totalCalls(stats: CommandStats, exclude: ReadonlySet<string> = HARNESS_COMMANDS): number {
  return Object.entries(stats).reduce((n, [cmd, s]) => (exclude.has(cmd.split("|")[0]!) ? n : n + s.calls), 0);
}

export const scriptCalls = (s: CommandStats) =>
  (s.evalsha?.calls ?? 0) + (s.eval?.calls ?? 0) + (s.fcall?.calls ?? 0) + (s.fcall_ro?.calls ?? 0);

/** A snapshot of the server counters a run is measured by. */
export interface ServerSnapshot {
  stats: CommandStats;
  usedMemory: number;
  /** used_cpu_user + used_cpu_sys of the redis-server process, ms. */
  cpuMs: number;
}

export async function snapshot(admin: Redis): Promise<ServerSnapshot> {
  const stats = parseCommandStats(await admin.info("commandstats"));
  const mem = parseInfo(await admin.info("memory"));
  const cpu = parseInfo(await admin.info("cpu"));
  return {
    stats,
    usedMemory: Number(mem.get("used_memory") ?? 0),
    cpuMs: (Number(cpu.get("used_cpu_user") ?? 0) + Number(cpu.get("used_cpu_sys") ?? 0)) * 1000,
  };
}

/** Samples used_memory every `everyMs` on the admin connection; `stop()` gives the peak seen. */
export function sampleMemory(admin: Redis, everyMs = 50): { stop(): Promise<number> } {
  let peak = 0;
  const take = async () => {
    const m = parseInfo(await admin.info("memory"));
    peak = Math.max(peak, Number(m.get("used_memory") ?? 0));
  };
  const timer = setInterval(() => void take().catch(() => {}), everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await take();
      return peak;
    },
  };
}

/**
 * Requests this process sends to Redis, counted in ioredis itself (every client, BullMQ's
 * included: they share this ioredis module), so both engines are counted the same way.
 */
export const clientRequests = { count: 0, byName: new Map<string, number>() };
let installed = false;
export function countClientRequests(): void {
  if (installed) return;
  installed = true;
  const proto = Redis.prototype as unknown as { sendCommand(cmd: { name: string }, stream?: unknown): unknown };
  const original = proto.sendCommand;
  const counted = Symbol("benchCounted");
  proto.sendCommand = function (this: unknown, cmd: { name: string; [counted]?: true }, stream?: unknown) {
    // ioredis may pass one command through sendCommand twice (offline queue): count it once.
    if (!cmd[counted] && !HARNESS_COMMANDS.has(cmd.name.toLowerCase())) {
      cmd[counted] = true;
      clientRequests.count++;
      clientRequests.byName.set(cmd.name, (clientRequests.byName.get(cmd.name) ?? 0) + 1);
    }
    return original.call(this, cmd, stream);
  };
}
