import { spawn } from "node:child_process";
import { freePort, redisCli, startRedis, type RedisProcess } from "./redis.js";

/** A local Redis Cluster of real redis-server processes (masters only), owned by one test file. */
export interface RedisClusterProcess {
  nodes: { host: string; port: number }[];
  /** `"127.0.0.1:p1,127.0.0.1:p2,..."`, the form of REDIS_CLUSTER_NODES / RedisConfig.clusterNodes. */
  seeds: string;
  /** The port of the master serving `key`'s hash slot. */
  masterOf(key: string): number;
  stop(): Promise<void>;
}

/**
 * Starts `masters` cluster-enabled nodes on free ports, joins them with
 * `redis-cli --cluster create ... --cluster-replicas 0 --cluster-yes` (1 or 2 masters: CLUSTER
 * MEET and ADDSLOTSRANGE, which that command refuses), and waits until every
 * node reports cluster_state:ok with all 16384 slots. Takes about 1-3 s; share one per
 * test file (beforeAll).
 */
export async function startCluster(opts: { masters?: number } = {}): Promise<RedisClusterProcess> {
  const masters = opts.masters ?? 3;
  const procs: RedisProcess[] = [];
  const busPorts: number[] = [];
  const stop = async () => {
    await Promise.all(procs.map((p) => p.stop()));
  };
  try {
    for (let i = 0; i < masters; i++) {
      const { proc, busPort } = await startClusterNode();
      procs.push(proc);
      busPorts.push(busPort);
    }
    const addrs = procs.map((p) => `127.0.0.1:${p.port}`);
    if (masters >= 3) await run("redis-cli", ["--cluster", "create", ...addrs, "--cluster-replicas", "0", "--cluster-yes"]);
    else joinByHand(procs.map((p, i) => ({ port: p.port, busPort: busPorts[i]! }))); // redis-cli --cluster create wants 3 masters or more
    await waitUntilOk(procs.map((p) => p.port), masters);
  } catch (err) {
    await stop();
    throw err;
  }
  const nodes = procs.map((p) => ({ host: "127.0.0.1", port: p.port }));
  return {
    nodes,
    seeds: nodes.map((n) => `${n.host}:${n.port}`).join(","),
    masterOf(key) {
      const slot = Number(redisCli(nodes[0]!.port, "cluster", "keyslot", key));
      return portOfSlot(nodes[0]!.port, slot);
    },
    stop,
  };
}

/** Fewer than 3 masters (bench/cluster.ts): meet, and split the 16384 slots evenly by hand. */
function joinByHand(nodes: { port: number; busPort: number }[]): void {
  for (const n of nodes.slice(1)) redisCli(nodes[0]!.port, "cluster", "meet", "127.0.0.1", String(n.port), String(n.busPort));
  const per = Math.ceil(16384 / nodes.length);
  nodes.forEach((n, i) => redisCli(n.port, "cluster", "addslotsrange", String(i * per), String(Math.min(16383, (i + 1) * per - 1))));
}

async function startClusterNode(): Promise<{ proc: RedisProcess; busPort: number }> {
  for (let attempt = 1; ; attempt++) {
    // The cluster bus defaults to port + 10000, which may be taken or beyond 65535: give it
    // its own free port (and another one if a parallel test grabbed it first).
    const busPort = await freePort();
    try {
      const proc = await startRedis({
        args: [
          "--cluster-enabled", "yes",
          "--cluster-config-file", "nodes.conf",
          "--cluster-node-timeout", "2000",
          "--cluster-port", String(busPort),
          // A node that never met another one reports its IP as "" in CLUSTER SLOTS (1 master).
          "--cluster-announce-ip", "127.0.0.1",
        ],
      });
      return { proc, busPort };
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

function portOfSlot(anyPort: number, slot: number): number {
  // CLUSTER NODES lines: <id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot ranges...>
  for (const line of redisCli(anyPort, "cluster", "nodes").split("\n")) {
    const [, addr, flags, , , , , , ...ranges] = line.trim().split(" ");
    if (!addr || !flags?.includes("master")) continue;
    for (const range of ranges) {
      const [from, to = from] = range.split("-").map(Number);
      if (from !== undefined && to !== undefined && slot >= from && slot <= to) return Number(addr.split("@")[0]!.split(":")[1]);
    }
  }
  throw new Error(`no master serves slot ${slot}`);
}

async function waitUntilOk(ports: number[], masters: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const infos = ports.map((p) => redisCli(p, "cluster", "info"));
    const ready = infos.every(
      (info) =>
        info.includes("cluster_state:ok") &&
        info.includes("cluster_slots_assigned:16384") &&
        info.includes(`cluster_known_nodes:${masters}`),
    );
    if (ready) return;
    last = infos.join("\n---\n");
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`cluster did not reach cluster_state:ok within ${timeoutMs} ms:\n${last}`);
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${out}`))));
  });
}
