import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startRedis, type RedisProcess } from "@weft/test-support";
import { CORS } from "../../../infra/routes.js";
import { startLocal, type Local } from "../../local/emulator.js";

/**
 * The deployed dashboard is another origin than the APIs (CloudFront vs API Gateway): CORS
 * through the local gateway, which answers the HTTP API's preflights as API Gateway does and
 * hands the stream paths' preflights to the Stream function, as the REST API does. First as
 * HTTP, then from a page on another origin in Chromium, which enforces CORS itself.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const KEY = "key-cors-0123456789abcdef";
const ORIGIN = "https://dashboard.example";
let redis: RedisProcess;
let local: Local;
let dataDir: string;
let browser: Browser;
let site: Server;
const auth = { authorization: `Bearer ${KEY}` };

beforeAll(async () => {
  redis = await startRedis();
  dataDir = mkdtempSync(join(tmpdir(), "weft-cors-"));
  Object.assign(process.env, { REDIS_URL: redis.url, DYNAMODB_ENDPOINT: "", WEFT_API_KEYS: `${KEY}:acme`, WEFT_WATCH_SECRET: "cors-test-secret-0123456789" });
  local = await startLocal({ port: await freePort(), dataDir, log: () => {}, reconcileMs: 3_600_000, subscriptions: () => false });
  // The "dashboard": a blank page served from another origin (another port).
  site = createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>site</title>"));
  await new Promise<void>((r) => site.listen(0, "127.0.0.1", r));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  site?.close();
  await local?.stop();
  await redis?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const preflight = (path: string, method: string, headers: string) =>
  fetch(`${local.baseUrl}${path}`, { method: "OPTIONS", headers: { origin: ORIGIN, "access-control-request-method": method, "access-control-request-headers": headers } });
const submit = async () =>
  ((await (await fetch(`${local.baseUrl}/v1/dags`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ nodes: [{ id: "a", agent: "cors-x" }] }) })).json()) as { dagId: string }).dagId;
const list = (h: string | null) => (h ?? "").split(",").map((s) => s.trim().toLowerCase());

describe("CORS for the dashboard's origin, through the local gateway", () => {
  it("the HTTP API answers a preflight itself (no key needed) naming Authorization, and its replies name the origin and expose ETag", async () => {
    const pre = await preflight("/v1/dags", "POST", "authorization,content-type");
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("*");
    expect(list(pre.headers.get("access-control-allow-methods"))).toEqual(expect.arrayContaining(["post", "get", "put", "delete"]));
    expect(list(pre.headers.get("access-control-allow-headers"))).toEqual(expect.arrayContaining(["authorization", "content-type", "if-match"]));
    expect(pre.headers.get("access-control-max-age")).toBe(String(CORS.maxAgeSeconds));
    const res = await fetch(`${local.baseUrl}/v1/dags?limit=1`, { headers: { ...auth, origin: ORIGIN } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(list(res.headers.get("access-control-expose-headers"))).toContain("etag");
    // An error is readable too (the page shows the API's errors as they are).
    const bad = await fetch(`${local.baseUrl}/v1/dags?limit=1`, { headers: { authorization: "Bearer nope", origin: ORIGIN } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("the stream paths' preflights reach the Stream function, which allows Authorization and Last-Event-ID, and its streams and errors name the origin", async () => {
    const dagId = await submit();
    for (const path of [`/v1/dags/${dagId}/events/stream`, "/v1/events/stream"]) {
      const pre = await preflight(path, "GET", "authorization,last-event-id");
      expect(pre.status, path).toBe(204);
      expect(pre.headers.get("access-control-allow-origin")).toBe("*");
      expect(list(pre.headers.get("access-control-allow-headers"))).toEqual(expect.arrayContaining(["authorization", "last-event-id"]));
      expect(list(pre.headers.get("access-control-allow-methods"))).toContain("get");
    }
    const ctl = new AbortController();
    const res = await fetch(`${local.baseUrl}/v1/dags/${dagId}/events/stream`, { headers: { ...auth, origin: ORIGIN, "last-event-id": "1" }, signal: ctl.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    ctl.abort();
    const denied = await fetch(`${local.baseUrl}/v1/events/stream`, { headers: { origin: ORIGIN } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("a page on another origin reads the API with its key and follows a run with EventSource, in Chromium", async () => {
    const dagId = await submit();
    const page = await browser.newPage();
    try {
      await page.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
      // In the page: what the dashboard does (fetch with the key, a watch token, EventSource on its streamUrl, the runs stream by fetch).
      const seen = await page.evaluate(
        async ({ api, key, dagId }) => {
          const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
          const run = (await (await fetch(`${api}/v1/dags/${dagId}`, { headers })).json()) as { status: string };
          const { streamUrl } = (await (await fetch(`${api}/v1/dags/${dagId}/watch-token`, { method: "POST", headers, body: "{}" })).json()) as { streamUrl: string };
          const first = await new Promise<string>((resolve, reject) => {
            const es = new EventSource(`${api}${streamUrl}`);
            es.onmessage = (m) => {
              es.close();
              resolve((JSON.parse(m.data as string) as { type: string }).type);
            };
            es.onerror = () => {
              es.close();
              reject(new Error("EventSource failed"));
            };
          });
          const tenant = await fetch(`${api}/v1/events/stream`, { headers: { authorization: `Bearer ${key}` } });
          const chunk = await tenant.body!.getReader().read();
          return { status: run.status, first, tenant: tenant.status, chunk: chunk.value?.length ?? 0 };
        },
        { api: local.baseUrl, key: KEY, dagId },
      );
      expect(seen).toEqual({ status: "running", first: "run.submitted", tenant: 200, chunk: expect.any(Number) });
      expect(seen.chunk).toBeGreaterThan(0);
    } finally {
      await page.close();
    }
  });
});
