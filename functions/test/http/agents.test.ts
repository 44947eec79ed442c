import { afterAll, beforeAll, describe, expect, it } from "vitest";
// Handlers first: they load @hono/zod-openapi before core's schemas exist (see functions/config.ts).
import { handler as api } from "../../api.js";
import { configureRuntime, resetRuntime } from "../../config.js";
import { backends, useBackend, type Backend } from "@weft/test-support";
import type { RedisConfig } from "@weft/core/redis";
import { apiEvent, reply, type Reply } from "./apigw.js";
import { startTestGateway } from "./gateway.js";
import { invoke, KEY_A, KEY_B, TENANT_A, TENANT_B, uid } from "./harness.js";

/**
 * GET /v1/agents and GET /v1/agents/{agent} (scaling signals) through the local API Gateway
 * (real HTTP) and straight into the API Lambda, on every Redis backend, 3 shards or more:
 * while runs execute (many nodes ready, some claimed, some leases near expiry, a release, a
 * retry waiting on its backoff, a cancel) the answers equal the true counts read back from
 * the runs themselves.
 */
let gateway: Awaited<ReturnType<typeof startTestGateway>>;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(async () => {
  await gateway?.close();
  await resetRuntime();
});

const ENV: Record<keyof RedisConfig, string> = {
  url: "REDIS_URL",
  clusterNodes: "REDIS_CLUSTER_NODES",
  upstashUrl: "UPSTASH_REDIS_REST_URL",
  upstashToken: "UPSTASH_REDIS_REST_TOKEN",
};
const redisEnv = (b: Backend) => Object.fromEntries(Object.entries(b.config).map(([k, v]) => [ENV[k as keyof RedisConfig], String(v)]));

/** The same GET through the gateway and the Lambda. */
async function both(path: string, key = KEY_A): Promise<[Reply, Reply]> {
  const res = await fetch(`${gateway.baseUrl}${path}`, { headers: { authorization: `Bearer ${key}` } });
  const viaGateway: Reply = { status: res.status, headers: Object.fromEntries(res.headers), json: await res.json() };
  return [viaGateway, reply(await api(apiEvent("GET", path, { key })))];
}

type Row = { agent: string; ready: number; running: number; leasesExpiringSoon: number; oldestReadyAt: number | null; oldestReadyAgeMs: number };

/** What the runs say now, per agent of `agents`: ready (not paused), running, leases due by `until`. */
async function truth(dagIds: string[], agents: string[], until: number) {
  const rows = new Map<string, { ready: number; running: number; leasesExpiringSoon: number }>();
  for (const dagId of dagIds) {
    const run = (await invoke(api, "GET", `/v1/dags/${dagId}`)).json as { nodes: { agent: string; status: string; leaseExpiresAt?: number }[] };
    for (const n of run.nodes) {
      if (!agents.includes(n.agent) || (n.status !== "ready" && n.status !== "running")) continue;
      const r = rows.get(n.agent) ?? { ready: 0, running: 0, leasesExpiringSoon: 0 };
      rows.set(n.agent, r);
      if (n.status === "ready") r.ready++;
      else {
        r.running++;
        if (n.leaseExpiresAt! <= until) r.leasesExpiringSoon++;
      }
    }
  }
  return Object.fromEntries([...rows].sort(([a], [b]) => (a < b ? -1 : 1)));
}

describe.each(backends)("scaling signals through the API on %s", (name) => {
  const backend = useBackend(name);
  beforeAll(async () => {
    await resetRuntime();
    await configureRuntime({
      env: { ...redisEnv(backend()), WEFT_API_KEYS: `${KEY_A}:${TENANT_A},${KEY_B}:${TENANT_B}`, WEFT_SHARDS: String(Math.max(3, backend().shardCount)) },
    });
  });
  afterAll(() => resetRuntime());

  it("match the true counts while runs execute, per agent and for one agent, and nothing of another tenant", async () => {
    const id = uid("sig");
    const [plan, work] = [`${id}-plan`, `${id}-work`];
    const spec = (n: number) => ({
      nodes: [
        { id: "p", agent: plan },
        ...Array.from({ length: 12 }, (_, i) => ({ id: `w${i}`, agent: work, deps: ["p"], retry: { maxAttempts: 3, backoffMs: 60_000 } })),
      ],
      id: `${id}-${n}`,
    });
    const submittedAt = Date.now();
    const dagIds: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await invoke(api, "POST", "/v1/dags", { body: spec(i) });
      expect(r.status).toBe(201);
      dagIds.push(r.json.dagId);
    }
    const check = async (what: string) => {
      const [g, l] = await both(`/v1/agents?within=5000`);
      for (const r of [g, l]) {
        expect(r.status, what).toBe(200);
        expect(r.headers["cache-control"]).toBe("no-store");
      }
      const mine = (r: Reply) => (r.json.agents as Row[]).filter((a) => a.agent === plan || a.agent === work);
      const noAge = (r: Reply) => mine(r).map(({ oldestReadyAgeMs: _age, ...rest }) => rest);
      expect(noAge(g), what).toEqual(noAge(l));
      const want = await truth(dagIds, [plan, work], g.json.at + 5000);
      expect(Object.fromEntries(mine(g).map((a) => [a.agent, { ready: a.ready, running: a.running, leasesExpiringSoon: a.leasesExpiringSoon }])), what).toEqual(want);
      for (const a of mine(g)) {
        if (a.ready === 0) expect(a).toMatchObject({ oldestReadyAt: null, oldestReadyAgeMs: 0 });
        else {
          expect(a.oldestReadyAt!).toBeGreaterThanOrEqual(submittedAt - 1000);
          expect(a.oldestReadyAgeMs).toBe(g.json.at - a.oldestReadyAt!);
        }
      }
      // One agent: the same row, and zeros for an agent with nothing.
      for (const agent of [plan, work]) {
        const [one, oneL] = await both(`/v1/agents/${agent}?within=5000`);
        expect(one.status).toBe(200);
        const row = mine(g).find((a) => a.agent === agent) ?? { agent, ready: 0, running: 0, leasesExpiringSoon: 0, oldestReadyAt: null, oldestReadyAgeMs: 0 };
        const strip = ({ at: _at, withinMs, oldestReadyAgeMs: _age, ...rest }: Row & { at: number; withinMs: number }) => ({ ...rest, withinMs });
        expect(strip(one.json), `${what}: ${agent}`).toEqual({ ...strip({ ...row, at: 0, withinMs: 5000 }) });
        expect(strip(oneL.json)).toEqual(strip(one.json));
      }
      return mine(g);
    };
    expect(await check("after submit")).toMatchObject([{ agent: plan, ready: 6, running: 0 }]);

    // Plans claimed and completed: 72 work nodes ready.
    const plans = (await invoke(api, "POST", `/v1/agents/${plan}/claim`, { body: { max: 6 } })).json.tasks;
    expect(plans).toHaveLength(6);
    await check("plans running");
    for (const t of plans) await invoke(api, "POST", `/v1/dags/${t.dagId}/nodes/p/complete`, { body: { leaseToken: t.leaseToken, output: 1 } });
    expect(await check("work ready")).toMatchObject([{ agent: work, ready: 72, running: 0 }]);

    // Some claimed with short leases (expiring soon), some with long ones; one given back, one retrying on its backoff.
    const short = (await invoke(api, "POST", `/v1/agents/${work}/claim`, { body: { max: 10, leaseMs: 2000 } })).json.tasks;
    const long = (await invoke(api, "POST", `/v1/agents/${work}/claim`, { body: { max: 15, leaseMs: 600_000 } })).json.tasks;
    expect(short.length + long.length).toBe(25);
    await invoke(api, "POST", `/v1/dags/${long[0].dagId}/nodes/${long[0].nodeId}/release`, { body: { leaseToken: long[0].leaseToken } });
    const failed = await invoke(api, "POST", `/v1/dags/${long[1].dagId}/nodes/${long[1].nodeId}/fail`, { body: { leaseToken: long[1].leaseToken, error: { message: "flaky" } } });
    expect(failed.json.status).toBe("retrying");
    for (const t of long.slice(2, 6)) await invoke(api, "POST", `/v1/dags/${t.dagId}/nodes/${t.nodeId}/complete`, { body: { leaseToken: t.leaseToken, output: 2 } });
    expect(await check("under load")).toMatchObject([{ agent: work, ready: 72 - 25 + 1, running: 25 - 1 - 1 - 4, leasesExpiringSoon: 10 }]);

    // A cancelled run's nodes count no more.
    await invoke(api, "POST", `/v1/dags/${dagIds[0]}/cancel`, { body: {} });
    await check("after a cancel");

    // The other tenant sees none of it; without a key, 401.
    for (const r of await both("/v1/agents", KEY_B)) expect((r.json.agents as Row[]).filter((a) => a.agent.startsWith(id))).toEqual([]);
    expect((await fetch(`${gateway.baseUrl}/v1/agents`)).status).toBe(401);

    for (const d of dagIds) await invoke(api, "POST", `/v1/dags/${d}/cancel`, { body: {} });
    const [end] = await both("/v1/agents");
    expect((end.json.agents as Row[]).filter((a) => a.agent.startsWith(id))).toEqual([]);
    expect(end.json.withinMs).toBe(30_000);
  }, 60_000);

  it("refuses a bad agent name or window with 400 naming the field", async () => {
    for (const [path, field] of [
      ["/v1/agents/bad%20agent", "path.agent"],
      [`/v1/agents/${"a".repeat(129)}`, "path.agent"],
      ["/v1/agents?within=soon", "query.within"],
      ["/v1/agents/ok?within=-5", "query.within"],
    ] as const) {
      for (const r of await both(path)) {
        expect(r.status, path).toBe(400);
        expect(r.json.error).toMatchObject({ code: "validation", field });
      }
    }
  });
});
