import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type Engine } from "@weft/core";
import { TcpRedis } from "@weft/core/redis";
import { freePort, startRedis, type RedisProcess } from "@weft/test-support";
import { startLocal, type Local } from "../../local/emulator.js";
import { ROOT } from "../../local/handlers.js";

/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against the
 * local emulation with API keys: the same gateway, handlers, stream, Redis and dynalite as
 * `npm start`. One browser for the file; a worker is this test, through the engine.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const KEY = "key-dashboard-0123456789";
let redis: RedisProcess;
let local: Local;
let port: number;
let dataDir: string;
let browser: Browser;
let page: Page;
let engine: Engine;

// Each start serves its own DynamoDB and S3 (stop() takes their addresses out of env again).
const start = () => startLocal({ port, dataDir, log: () => {}, dashboard: true, reconcileMs: 200, subscriptions: (s) => !s.example });

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install chromium (.ci/run does)`);
  redis = await startRedis();
  dataDir = mkdtempSync(join(tmpdir(), "weft-dash-"));
  port = await freePort();
  Object.assign(process.env, {
    REDIS_URL: redis.url,
    DYNAMODB_ENDPOINT: "",
    WEFT_API_KEYS: `${KEY}:acme`,
    WEFT_WATCH_SECRET: "dashboard-test-secret-0123456789",
    WEFT_HOT_TTL_SECONDS: "1",
  });
  local = await start();
  engine = createEngine({ redis: new TcpRedis({ url: redis.url }) });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
  page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await engine?.close();
  await local?.stop();
  await redis?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

let n = 0;
const uid = (label: string) => `${label}-${process.pid}-${++n}`;
const diamond = (id: string) => ({
  id,
  nodes: [
    { id: "a", agent: `${id}-x`, input: { topic: "weft" } },
    { id: "b", agent: `${id}-x`, deps: ["a"] },
    { id: "c", agent: `${id}-x`, deps: ["a"] },
    { id: "d", agent: `${id}-x`, deps: ["b", "c"] },
  ],
});
/** Claims and completes every ready node of the run's agent once; returns how many. */
async function workOnce(id: string, agent = `${id}-x`): Promise<number> {
  const tasks = await engine.claim("acme", agent, { max: 100, leaseMs: 60_000, workerId: "browser-test-worker" });
  for (const t of tasks) await engine.complete("acme", t, { done: t.nodeId });
  return tasks.length;
}
const statusOf = (id: string) => page.getAttribute(`[data-testid="node-${id}"]`, "data-status");
const waitStatus = (id: string, status: string, timeout = 10_000) =>
  page.waitForSelector(`[data-testid="node-${id}"][data-status="${status}"]`, { timeout, state: "attached" });

/** Moves the time-travel slider as a user's drag does (input events on the range). */
const travelTo = (seq: number) =>
  page.$eval(
    'input[aria-label="time travel"]',
    // Runs in the page: React sees a value set through the native setter, then an input event.
    (el, v) => {
      Object.getOwnPropertyDescriptor(Object.getPrototypeOf(el), "value")!.set!.call(el, String(v));
      el.dispatchEvent(new Event("input", { bubbles: true }));
    },
    seq,
  );

describe("the dashboard", () => {
  it("asks for an API key, keeps it in session storage and out of every URL", async () => {
    await page.goto(`${local.baseUrl}/`);
    await page.waitForSelector("input[name=key]");
    await page.fill("input[name=key]", "wrong-key");
    await page.click("button[type=submit]");
    await page.waitForSelector("[role=alert]");
    expect(await page.textContent("[role=alert]")).toContain("unknown API key");
    await page.fill("input[name=key]", KEY);
    await page.click("button[type=submit]");
    await page.waitForSelector("table");
    expect(await page.evaluate('sessionStorage.getItem("weft.apiKey")')).toBe(KEY);
    const urls: string[] = [];
    page.on("request", (r) => urls.push(r.url()));
    const id = uid("listed");
    await engine.submit("acme", diamond(id));
    // The runs list is live: the new run appears without a reload.
    await page.waitForSelector(`tr[data-run="${id}"][data-status="running"]`, { timeout: 10_000 });
    await page.click(`tr[data-run="${id}"] a`);
    await waitStatus("a", "ready");
    expect(urls.some((u) => u.includes(KEY))).toBe(false);
    expect(urls.some((u) => u.includes("/events/stream?token="))).toBe(true);
  });

  it("keeps a run the stream reported when the list's answer, read before it, arrives after it", async () => {
    // The runs list (GET /v1/dags?limit=200) is read now but answered only after the stream has shown a new run.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let read!: () => void;
    const listRead = new Promise<void>((r) => (read = r));
    let fulfilled: Promise<void> = Promise.resolve();
    await page.route(
      /\/v1\/dags\?limit=200/,
      (route) =>
        (fulfilled = (async () => {
          const response = await route.fetch();
          read();
          await held;
          await route.fulfill({ response });
        })()),
      { times: 1 },
    );
    try {
      await page.goto("about:blank");
      const answered = page.waitForResponse(/\/v1\/dags\?limit=200/);
      await page.goto(`${local.baseUrl}/`);
      await listRead;
      const id = uid("late-list");
      await engine.submit("acme", diamond(id));
      const row = `tr[data-run="${id}"]`;
      await page.waitForSelector(row, { timeout: 10_000 });
      release();
      await answered;
      await page.waitForTimeout(300); // React applies the late list
      expect(await page.$(row)).not.toBeNull();
    } finally {
      release();
      await fulfilled;
      await page.unroute(/\/v1\/dags\?limit=200/);
    }
  });

  it("colours a run's nodes as a worker completes them, live from the stream", async () => {
    const id = uid("live");
    await engine.submit("acme", diamond(id));
    await page.goto(`${local.baseUrl}/#/runs/${id}`);
    await waitStatus("a", "ready");
    expect(await statusOf("d")).toBe("pending");
    const timings: number[] = [];
    for (const [next, count] of [["a", 1], ["b", 2], ["d", 1]] as const) {
      const t0 = performance.now();
      expect(await workOnce(id)).toBe(count);
      await waitStatus(next, "succeeded");
      timings.push(performance.now() - t0);
    }
    await page.waitForSelector('[data-testid="run-status"]:has-text("succeeded")');
    for (const node of ["a", "b", "c", "d"]) expect(await statusOf(node)).toBe("succeeded");
    console.log(`dashboard: completion -> colour in the DOM: ${timings.map((t) => `${t.toFixed(0)} ms`).join(", ")}`);
    expect(Math.max(...timings)).toBeLessThan(5_000);
    if (process.env.WEFT_DASHBOARD_SCREENSHOT) {
      await page.click('[data-testid="node-d"]');
      await page.waitForSelector('[data-testid="node-panel"] pre');
      await page.screenshot({ path: join(ROOT, "docs", "dashboard-run.png") });
    }

    // Time travel: after event 2 (submitted, a ready) nothing had run yet.
    await travelTo(2);
    await waitStatus("d", "pending");
    expect(await statusOf("a")).toBe("ready");
    expect(await page.textContent('[data-testid="travel-label"]')).toContain("after event 2");
    await page.click("text=back to live");
    await waitStatus("a", "succeeded");
  });

  it("shows the API's error for an action it refuses", async () => {
    const id = uid("refused");
    await engine.submit("acme", diamond(id));
    await page.goto(`${local.baseUrl}/#/runs/${id}`);
    await waitStatus("a", "ready");
    // A running run cannot be redriven: the API says why, and the page shows it as it is.
    await page.click("text=Redrive");
    const text = await (await page.waitForSelector('[data-testid="action-error"]')).textContent();
    expect(text).toMatch(/redrive: 409 conflict: /);
  });

  it("makes a waiting node stand out, approves it from the page, and the run finishes", async () => {
    const id = uid("approve");
    await engine.submit("acme", {
      id,
      nodes: [
        { id: "write", agent: `${id}-x` },
        { id: "approve", deps: ["write"], input: { question: "publish?" }, wait: { timeoutMs: 600_000 } },
        { id: "publish", agent: `${id}-x`, deps: ["approve"] },
      ],
    });
    await page.goto(`${local.baseUrl}/#/runs/${id}`);
    await waitStatus("write", "ready");
    expect(await workOnce(id)).toBe(1);
    await waitStatus("approve", "waiting");
    expect(await page.getAttribute('[data-testid="node-approve"]', "class")).toContain("waiting");
    // The bar names the waiting nodes; picking one opens its decision.
    await page.click('[data-testid="waiting"] button:has-text("approve")');
    await page.waitForSelector('[data-testid="decide"]');
    expect(await page.textContent('[data-testid="decide"]')).toContain("publish?");
    // Output that is not JSON is refused by the page and nothing is sent.
    await page.fill('textarea[aria-label="approval output"]', "{nope");
    await page.click("button.approve");
    expect(await (await page.waitForSelector('[data-testid="action-error"]')).textContent()).toContain("approve: the output is not JSON");
    expect(await statusOf("approve")).toBe("waiting");
    await page.fill('textarea[aria-label="approval output"]', '{"approved": true, "note": "from the page"}');
    await page.click("button.approve");
    await waitStatus("approve", "succeeded");
    await waitStatus("publish", "ready");
    expect(await workOnce(id)).toBe(1);
    await page.waitForSelector('[data-testid="run-status"]:has-text("succeeded")');
    const run = await engine.getRun("acme", id);
    expect(run.nodes.find((n) => n.id === "approve")).toMatchObject({ status: "succeeded", output: { approved: true, note: "from the page" } });
  });

  it("rejects a waiting node from the page: the node fails with the reason, and the run with it", async () => {
    const id = uid("reject");
    await engine.submit("acme", { id, nodes: [{ id: "gate", wait: {} }, { id: "after", agent: `${id}-x`, deps: ["gate"] }] });
    await page.goto(`${local.baseUrl}/#/runs/${id}`);
    await waitStatus("gate", "waiting");
    await page.click('[data-testid="node-gate"]');
    await page.fill('input[aria-label="rejection reason"]', "not this week");
    await page.click("button.reject");
    await waitStatus("gate", "failed");
    await page.waitForSelector('[data-testid="run-status"]:has-text("failed")');
    expect((await engine.getRun("acme", id)).nodes.find((n) => n.id === "gate")?.error).toMatchObject({ message: "not this week" });
  });

  it("pauses and resumes a run from the page: nothing is handed out while it is paused", async () => {
    const id = uid("pause");
    await engine.submit("acme", diamond(id));
    await page.goto(`${local.baseUrl}/#/runs/${id}`);
    await waitStatus("a", "ready");
    await page.click('button:text-is("Pause")');
    await page.waitForSelector('[data-testid="run-status"]:has-text("paused")');
    expect(await workOnce(id)).toBe(0);
    await page.click('button:text-is("Resume")');
    await page.waitForSelector('[data-testid="run-status"]:has-text("running")');
    expect(await workOnce(id)).toBe(1);
    await waitStatus("a", "succeeded");
  });

  it("draws nodes added while the run runs (M9) as they are added", async () => {
    const id = uid("grow");
    await engine.submit("acme", { id, nodes: [{ id: "plan", agent: `${id}-x` }, { id: "sink", agent: `${id}-x`, deps: ["plan"] }] });
    await page.goto(`${local.baseUrl}/#/runs/${id}`);
    await waitStatus("plan", "ready");
    const [t] = await engine.claim("acme", `${id}-x`, { max: 1, leaseMs: 60_000, workerId: "planner" });
    // The planner adds three steps in its completion, and the sink waits for them.
    await engine.complete("acme", { dagId: id, nodeId: "plan", leaseToken: t!.leaseToken }, { steps: 3 }, {
      add: { nodes: [0, 1, 2].map((i) => ({ id: `step${i}`, agent: `${id}-x`, deps: ["plan"] })), deps: { sink: ["step0", "step1", "step2"] } },
    });
    for (const i of [0, 1, 2]) await waitStatus(`step${i}`, "ready");
    expect(await statusOf("sink")).toBe("pending");
    // From outside the run too (POST /nodes as an operator would): one more node appears.
    await engine.addNodes("acme", id, { nodes: [{ id: "extra", agent: `${id}-x` }] });
    await waitStatus("extra", "ready");
    while ((await workOnce(id)) > 0);
    await page.waitForSelector('[data-testid="run-status"]:has-text("succeeded")');
    for (const n of ["step0", "step1", "step2", "extra", "sink"]) expect(await statusOf(n)).toBe("succeeded");
  });

  it("shows shared state: namespaces, their keys, a key's value, version and history", async () => {
    const ns = uid("notes");
    const put = (path: string, body: unknown, headers: Record<string, string>) =>
      fetch(`${local.baseUrl}${path}`, { method: "PUT", headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
    expect((await put(`/v1/state/${ns}/plan`, { steps: 1 }, { "if-none-match": "*", "x-weft-agent": "planner" })).status).toBe(201);
    expect((await put(`/v1/state/${ns}/plan`, { steps: 2 }, { "if-match": '"1"', "x-weft-agent": "editor" })).status).toBe(200);
    await page.goto(`${local.baseUrl}/#/state`);
    await page.click(`[data-namespace="${ns}"]`);
    await page.click('[data-key="plan"] button');
    await page.waitForSelector('[data-testid="state-history"] li >> nth=1');
    expect(await page.textContent('[data-testid="state-version"]')).toBe("2");
    expect(JSON.parse((await page.textContent('[data-testid="state-value"]'))!)).toEqual({ steps: 2 });
    const history = await page.$$eval('[data-testid="state-history"] li', (lis) => lis.map((li) => li.textContent ?? ""));
    expect(history[0]).toMatch(/^v2 put .*by editor/);
    expect(history[1]).toMatch(/^v1 create .*by planner/);
  });

  it("renders an archived run from the cold store", async () => {
    const id = uid("archived");
    await engine.submit("acme", diamond(id));
    while ((await workOnce(id)) > 0);
    // The archive subscription flushes it; with WEFT_HOT_TTL_SECONDS=1 Redis lets it go.
    for (let i = 0; ; i++) {
      try {
        await engine.getRun("acme", id);
      } catch {
        break;
      }
      if (i > 150) throw new Error("the run never left Redis");
      await new Promise((r) => setTimeout(r, 100));
    }
    await page.goto(`${local.baseUrl}/#/runs/${id}`);
    for (const node of ["a", "b", "c", "d"]) await waitStatus(node, "succeeded");
    await page.waitForSelector('[data-testid="stream-state"]:has-text("ended")');
    await travelTo(1);
    await waitStatus("a", "pending");
  });

  it("draws a 5,000-node run (what is in view of it) and follows it live", async () => {
    // 50 layers of 100, each node on 2 of the layer before (the figures are bench/dashboard.ts's; nothing here is timed).
    const id = uid("big");
    const agent = `${id}-x`;
    const nodes = Array.from({ length: 5_000 }, (_, i) => {
      const [l, k] = [Math.floor(i / 100), i % 100];
      return { id: `l${l}n${k}`, agent, ...(l ? { deps: [`l${l - 1}n${k}`, `l${l - 1}n${(k * 7 + 3) % 100}`] } : {}) };
    });
    await engine.submit("acme", { id, nodes });
    await page.goto(`${local.baseUrl}/#/runs/${id}`);
    await page.waitForSelector('[data-testid="counts"][data-ready="100"][data-pending="4900"]', { state: "attached", timeout: 60_000 });
    await page.waitForSelector('[data-testid^="node-l0n"]', { state: "attached", timeout: 60_000 });
    // Only what is in view is in the DOM: the run opens on its first layers, not 5,000 nodes.
    const inView = await page.$$eval(".wn", (els) => els.map((e) => e.getAttribute("data-testid")!.slice(5)));
    expect(inView.length).toBeGreaterThan(20);
    expect(inView.length).toBeLessThan(1_000);
    expect(inView.some((n) => n.startsWith("l49n"))).toBe(false);
    const [first, second, third] = ["l0n", "l1n", "l2n"].map((layer) => inView.find((n) => n.startsWith(layer)));
    expect(second && third).toBeTruthy();
    expect(await statusOf(first!)).toBe("ready");
    expect(await statusOf(third!)).toBe("pending");
    // A worker completes the first two layers: the nodes in view change colour, the counts follow.
    let done = 0;
    while (done < 200) done += await workOnce(id, agent);
    await waitStatus(first!, "succeeded", 20_000);
    await waitStatus(second!, "succeeded", 20_000);
    await waitStatus(third!, "ready", 20_000);
    await page.waitForSelector('[data-testid="counts"][data-succeeded="200"][data-ready="100"][data-pending="4700"]', { state: "attached", timeout: 20_000 });
  }, 180_000);

  it("loses no event when the stream reconnects after the server restarts", async () => {
    const id = uid("restart");
    await engine.submit("acme", { id, nodes: Array.from({ length: 6 }, (_, i) => ({ id: `s${i}`, agent: `${id}-x`, ...(i ? { deps: [`s${i - 1}`] } : {}) })) });
    await page.goto(`${local.baseUrl}/#/runs/${id}`);
    await waitStatus("s0", "ready");
    await workOnce(id);
    await waitStatus("s0", "succeeded");
    await local.stop();
    // While the server is down the run goes on (workers talk to Redis through the engine here).
    await workOnce(id);
    await workOnce(id);
    local = await start();
    while ((await workOnce(id)) > 0);
    for (let i = 0; i < 6; i++) await waitStatus(`s${i}`, "succeeded", 20_000);
    const log = (await (await fetch(`${local.baseUrl}/v1/dags/${id}/events?limit=1000`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { events: { seq: number }[] };
    // The timeline follows the stream a little behind the graph (at most every 250 ms): wait until it has as many events as the log.
    await page.waitForSelector(`[data-testid="event-count"][data-count="${log.events.length}"]`, { timeout: 10_000, state: "attached" });
    const seqs = await page.$$eval(".timeline li", (lis) => lis.map((li) => Number(li.getAttribute("data-seq"))));
    expect(seqs.sort((a, b) => a - b)).toEqual(log.events.map((e) => e.seq));
  });
});
