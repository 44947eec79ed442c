import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocal, type Local } from "../../local/emulator.js";
import { METRICS } from "../../metrics/index.js";

/**
 * The metrics move as a run executes: GET /metrics (Prometheus text) scraped through the
 * local API Gateway emulation before and after one run, driven over HTTP (real
 * redis-server, dynalite, s3rver, the bus subscriptions and the reconcile timer).
 */
let local: Local;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "weft-metrics-"));
  local = await startLocal({ port: 0, dataDir, log: () => {}, reconcileMs: 200, subscriptions: (s) => !s.example, env: process.env });
}, 60_000);
afterAll(async () => {
  await local?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${local.baseUrl}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(local.apiKey ? { authorization: `Bearer ${local.apiKey}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

/** Parsed exposition: `name{labels}` -> value (histograms by their _count/_sum series). */
async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(`${local.baseUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}
const get = (m: Map<string, number>, series: string) => m.get(series) ?? 0;

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("GET /metrics through the local gateway", () => {
  it("lists every defined metric with its help and type, each also in the README's table", async () => {
    const text = await (await fetch(`${local.baseUrl}/metrics`)).text();
    const readme = readFileSync(join(import.meta.dirname, "../../../README.md"), "utf8");
    for (const d of Object.values(METRICS)) {
      expect(text).toContain(`# TYPE ${d.name} ${d.kind}`);
      expect(readme).toMatch(new RegExp(`^\\| \`${d.name}\` \\| ${d.kind} \\|`, "m"));
    }
  });

  it("moves as a run executes: transitions per agent, latency, run outcome and duration, relay, API requests by route template", async () => {
    const agent = `m${Date.now().toString(36)}`;
    const before = await scrape();
    const submitted = await call("POST", "/v1/dags", {
      nodes: [
        { id: "a", agent: `${agent}-plan` },
        { id: "b", agent: `${agent}-work`, deps: ["a"], retry: { maxAttempts: 2, backoffMs: 0 } },
      ],
    });
    expect(submitted.status).toBe(201);
    const dagId = submitted.body.dagId as string;
    const claim = async (who: string) =>
      until(`a task of ${who}`, async () => {
        const r = await call("POST", `/v1/agents/${who}/claim`, { max: 1, leaseMs: 30_000 });
        return r.body.tasks?.[0] as { dagId: string; nodeId: string; leaseToken: string } | undefined;
      });
    const done = (t: { dagId: string; nodeId: string; leaseToken: string }, output: unknown) =>
      call("POST", `/v1/dags/${t.dagId}/nodes/${t.nodeId}/complete`, { leaseToken: t.leaseToken, output });
    // Live: a claim reply counts started, the relayed NodeReady ready, before the run ends.
    const plan = await claim(`${agent}-plan`);
    const mid = await scrape();
    const midMoved = (series: string) => get(mid, series) - get(before, series);
    expect(midMoved(`weft_node_transitions_total{transition="ready",agent="${agent}-plan"}`)).toBe(1);
    expect(midMoved(`weft_node_transitions_total{transition="started",agent="${agent}-plan"}`)).toBe(1);
    expect((await done(plan, { plan: 1 })).status).toBe(200);
    const first = await claim(`${agent}-work`);
    expect((await call("POST", `/v1/dags/${dagId}/nodes/b/fail`, { leaseToken: first.leaseToken, error: { message: "try again" } })).status).toBe(200);
    expect((await done(await claim(`${agent}-work`), { done: true })).status).toBe(200);

    // The run is archived (the DagSucceeded subscriber): what needs its log is counted then.
    const after = await until("the run's archive", async () => {
      const m = await scrape();
      const series = `weft_run_duration_seconds_count{outcome="succeeded"}`;
      return get(m, series) > get(before, series) ? m : undefined;
    });
    const moved = (series: string) => get(after, series) - get(before, series);
    const t = (transition: string, who: string) => moved(`weft_node_transitions_total{transition="${transition}",agent="${agent}-${who}"}`);
    expect([t("ready", "plan"), t("started", "plan"), t("succeeded", "plan")]).toEqual([1, 1, 1]);
    expect([t("ready", "work"), t("started", "work"), t("retried", "work"), t("succeeded", "work"), t("failed", "work")]).toEqual([2, 2, 1, 1, 0]);
    expect(moved(`weft_node_ready_to_started_seconds_count{agent="${agent}-work"}`)).toBe(2);
    expect(moved(`weft_run_duration_seconds_count{outcome="succeeded"}`)).toBe(1);
    expect(moved(`weft_runs_finished_total{outcome="succeeded"}`)).toBe(1);
    expect(moved(`weft_run_duration_seconds_sum{outcome="succeeded"}`)).toBeGreaterThan(0);
    expect(moved(`weft_outbox_events_total{result="published"}`)).toBeGreaterThanOrEqual(4);
    expect(moved("weft_outbox_relay_lag_seconds_count")).toBeGreaterThan(0);
    // Route templates, never raw paths (no run id in any label).
    expect(moved(`weft_api_requests_total{route="/v1/dags",method="POST",status="201",class="2xx"}`)).toBe(1);
    expect(moved(`weft_api_requests_total{route="/v1/dags/{dagId}/nodes/{nodeId}/complete",method="POST",status="200",class="2xx"}`)).toBe(2);
    expect(moved(`weft_api_requests_total{route="/v1/dags/{dagId}/nodes/{nodeId}/fail",method="POST",status="200",class="2xx"}`)).toBe(1);
    expect([...after.keys()].some((k) => k.includes(dagId))).toBe(false);
    // The reconcile timer sets the backlog and counts its passes' repairs.
    expect(after.has("weft_outbox_backlog")).toBe(true);
  });

  it("counts a 404 under `unmatched` and a validation error under its route", async () => {
    const before = await scrape();
    expect((await call("GET", "/v1/no-such-thing")).status).toBe(404);
    expect((await call("POST", "/v1/dags", { nodes: "x" })).status).toBe(400);
    const after = await scrape();
    const moved = (series: string) => get(after, series) - get(before, series);
    expect(moved(`weft_api_requests_total{route="unmatched",method="GET",status="404",class="4xx"}`)).toBe(1);
    expect(moved(`weft_api_requests_total{route="/v1/dags",method="POST",status="400",class="4xx"}`)).toBe(1);
  });
});
