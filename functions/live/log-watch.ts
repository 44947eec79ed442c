import type { Cluster, Redis } from "ioredis";
import type { EventPage, RunEvent } from "@weft/core";
import type { KeySchema } from "@weft/core/redis";

/** Where the watch reads events: the read-through (Redis, then the cold store). */
export interface LogSource {
  events(tenant: string, dagId: string, opts: { after: number; limit: number }): Promise<EventPage>;
}

export interface Follower {
  /** Stops delivery; the run's reader stops watching it once its last follower left. */
  close(): void;
}

export interface LogWatch {
  /**
   * Delivers the run's events after seq `after`, in order, each exactly once: first the
   * backlog, then live as they are appended. `onEvents` is never called concurrently.
   * `onError` gets a read failure (Redis down); the follower is closed then.
   */
  follow(tenant: string, dagId: string, after: number, onEvents: (events: RunEvent[]) => void, onError?: (err: unknown) => void): Follower;
  /** Runs watched now, and blocking Redis connections open (one per group of runs, not per client). */
  stats(): { runs: number; followers: number; readers: number };
  close(): Promise<void>;
}

export interface LogWatchOptions {
  source: LogSource;
  keys: KeySchema;
  /**
   * A TCP Redis client (ioredis) to duplicate into the blocking reader. Without one (the
   * Upstash REST adapter has no blocking reads) every watched run is polled every `pollMs`,
   * one poll per run per process, shared by all of its followers.
   */
  blocking?: Redis | Cluster;
  cluster?: boolean;
  pollMs?: number;
  /** XREAD BLOCK timeout; a new run joins at once anyway (the blocked read is interrupted). */
  blockMs?: number;
  /** A run stays watched this long after its last follower left: a reconnecting client finds it. Default 1 s. */
  lingerMs?: number;
}

const PAGE = 1000;
// A resuming client usually missed a few events: read those first, not a whole page.
const FIRST_PAGE = 50;

interface Sub {
  sent: number;
  backfilling: boolean;
  buffer: RunEvent[];
  onEvents(events: RunEvent[]): void;
  onError(err: unknown): void;
  closed: boolean;
}

interface Watched {
  tenant: string;
  dagId: string;
  key: string;
  group: string;
  /** Last seq read by the reader and handed to every follower. */
  cursor: number;
  subs: Set<Sub>;
  busy: boolean;
  again: boolean;
  linger?: NodeJS.Timeout;
}

interface Group {
  runs: Map<string, Watched>;
  conn?: Redis | Cluster;
  /** CLIENT ID of `conn` on a single node: CLIENT UNBLOCK wakes it without a reconnect. */
  connId?: number;
  running: boolean;
  restart: boolean;
}

/**
 * One shared reader per process for every live run stream. With TCP Redis it is a single
 * `XREAD BLOCK` over the event logs of all watched runs (one per shard on a Cluster, where a
 * command's keys must share a slot): an idle stream costs no Redis work, and a burst is read
 * once per run, however many clients follow it, then fanned out in memory.
 */
export function createLogWatch(o: LogWatchOptions): LogWatch {
  const runs = new Map<string, Watched>();
  const groups = new Map<string, Group>();
  const blockMs = o.blockMs ?? 10_000;
  const pollMs = o.pollMs ?? 250;
  const lingerMs = o.lingerMs ?? 1000;
  let closed = false;
  let pollTimer: NodeJS.Timeout | undefined;

  const deliver = (sub: Sub, events: RunEvent[]) => {
    const fresh = events.filter((e) => e.seq > sub.sent);
    if (!fresh.length || sub.closed) return;
    sub.sent = fresh[fresh.length - 1]!.seq;
    sub.onEvents(fresh);
  };

  const fail = (w: Watched, err: unknown) => {
    for (const sub of [...w.subs]) {
      sub.closed = true;
      sub.onError(err);
    }
    w.subs.clear();
    drop(w);
  };

  /** Reads the run from its cursor to the end of its log and hands the events out. */
  async function fetch(w: Watched): Promise<void> {
    if (w.busy) {
      w.again = true;
      return;
    }
    w.busy = true;
    try {
      do {
        w.again = false;
        for (;;) {
          const page = await o.source.events(w.tenant, w.dagId, { after: w.cursor, limit: PAGE });
          if (!page.events.length) break;
          w.cursor = page.cursor;
          for (const sub of w.subs) {
            if (sub.backfilling) sub.buffer.push(...page.events);
            else deliver(sub, page.events);
          }
          if (page.events.length < PAGE) break;
        }
      } while (w.again && w.subs.size);
    } catch (err) {
      fail(w, err);
    } finally {
      w.busy = false;
    }
  }

  function groupOf(w: Watched): Group {
    let g = groups.get(w.group);
    if (!g) groups.set(w.group, (g = { runs: new Map(), running: false, restart: false }));
    return g;
  }

  function watch(tenant: string, dagId: string, after: number): Watched {
    const id = `${tenant}|${dagId}`;
    let w = runs.get(id);
    if (w) {
      clearTimeout(w.linger);
      w.linger = undefined;
      return w;
    }
    const shard = o.keys.shardOf(tenant, dagId);
    w = {
      tenant,
      dagId,
      key: o.keys.run(tenant, dagId).events,
      group: o.cluster ? String(shard) : "all",
      cursor: after,
      subs: new Set(),
      busy: false,
      again: false,
    };
    runs.set(id, w);
    if (o.blocking) {
      const g = groupOf(w);
      g.runs.set(id, w);
      wake(g);
    } else {
      pollTimer ??= setInterval(() => {
        for (const r of runs.values()) void fetch(r);
      }, pollMs);
    }
    return w;
  }

  /** Stops following a run nobody follows any more, after `lingerMs` (a reconnecting client finds it warm). */
  function unwatch(w: Watched) {
    if (lingerMs <= 0) return drop(w);
    clearTimeout(w.linger);
    w.linger = setTimeout(() => {
      if (!w.subs.size) drop(w);
    }, lingerMs);
  }

  /** Stops following a run at once. */
  function drop(w: Watched) {
    const id = `${w.tenant}|${w.dagId}`;
    if (runs.get(id) !== w) return;
    runs.delete(id);
    const g = groups.get(w.group);
    g?.runs.delete(id);
    // A reader blocked on keys nobody follows any more just times out; no restart needed.
    if (!runs.size && pollTimer) {
      clearInterval(pollTimer);
      pollTimer = undefined;
    }
  }

  /** Makes the group's reader include its current runs: start it, or restart the blocked read. */
  function wake(g: Group) {
    if (g.running) {
      if (g.restart) return;
      g.restart = true;
      // Adds in the same tick share one restart. On a single node CLIENT UNBLOCK ends the
      // blocked read (it returns as if timed out); a Cluster connection is replaced.
      setImmediate(() => {
        if (g.connId !== undefined && !o.cluster) {
          o.blocking!.client("UNBLOCK", g.connId).catch(() => {});
          return;
        }
        const conn = g.conn;
        g.conn = undefined;
        conn?.disconnect();
      });
      return;
    }
    g.running = true;
    void readLoop(g);
  }

  async function readLoop(g: Group): Promise<void> {
    let failures = 0;
    while (!closed && g.runs.size) {
      g.restart = false;
      const watched = [...g.runs.values()];
      if (!g.conn) {
        g.conn = o.blocking!.duplicate();
        g.conn.on("error", () => {});
        g.connId = undefined;
        if (!o.cluster) {
          try {
            g.connId = Number(await (g.conn as Redis).client("ID"));
          } catch {
            // not reachable now: the read below fails and backs off
          }
        }
      }
      const conn = g.conn;
      if (g.restart) continue; // a run joined while connecting
      try {
        const reply = (await conn.xread(
          "COUNT",
          1,
          "BLOCK",
          blockMs,
          "STREAMS",
          ...watched.map((w) => w.key),
          ...watched.map((w) => `0-${w.cursor}`),
        )) as [string, unknown[]][] | null;
        failures = 0;
        const byKey = new Map(watched.map((w) => [w.key, w]));
        // Read what the reply names before blocking again, so the next ids are past it.
        await Promise.all((reply ?? []).map(([key]) => byKey.get(key)).filter((w) => w !== undefined).map((w) => fetch(w)));
      } catch (err) {
        if (closed) break;
        if (g.conn !== conn) continue; // restarted on purpose: a run joined
        // Redis unreachable: back off, then read again from the same cursors (no event is lost).
        failures++;
        if (failures > 3) for (const w of watched) fail(w, err);
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** failures)));
      }
    }
    g.running = false;
    g.conn?.disconnect();
    g.conn = undefined;
    if (!closed && g.runs.size) wake(g);
  }

  return {
    follow(tenant, dagId, after, onEvents, onError = () => {}) {
      const sub: Sub = { sent: after, backfilling: true, buffer: [], onEvents, onError, closed: false };
      const w = watch(tenant, dagId, after);
      const upTo = w.cursor;
      w.subs.add(sub);
      // The reader hands out what comes after `upTo`; the backlog up to it is read here,
      // while live events wait in the buffer.
      void (async () => {
        try {
          for (let limit = FIRST_PAGE; !sub.closed && sub.sent < upTo; limit = PAGE) {
            const page = await o.source.events(tenant, dagId, { after: sub.sent, limit: Math.min(limit, upTo - sub.sent) });
            if (!page.events.length) break;
            deliver(sub, page.events.filter((e) => e.seq <= upTo));
          }
          sub.backfilling = false;
          const buffered = sub.buffer.splice(0);
          if (buffered.length) deliver(sub, buffered);
          // Poll mode reads at once instead of at the next tick; a blocked reader would too.
          void fetch(w);
        } catch (err) {
          sub.closed = true;
          w.subs.delete(sub);
          if (!w.subs.size) unwatch(w);
          onError(err);
        }
      })();
      return {
        close() {
          if (sub.closed) return;
          sub.closed = true;
          w.subs.delete(sub);
          if (!w.subs.size) unwatch(w);
        },
      };
    },
    stats() {
      let followers = 0;
      for (const w of runs.values()) followers += w.subs.size;
      return { runs: runs.size, followers, readers: [...groups.values()].filter((g) => g.conn).length };
    },
    async close() {
      closed = true;
      if (pollTimer) clearInterval(pollTimer);
      for (const w of runs.values()) clearTimeout(w.linger);
      for (const g of groups.values()) {
        g.conn?.disconnect();
        g.conn = undefined;
      }
      runs.clear();
      groups.clear();
    },
  };
}
