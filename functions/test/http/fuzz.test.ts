import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler as api } from "../../api.js";
import { configureRuntime, resetRuntime } from "../../config.js";
import { startRedis, type RedisProcess } from "@weft/test-support";
import type { APIGatewayProxyResultV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { apiEvent, reply as decode, type Reply } from "./apigw.js";
import { digest, KEY_A, servedByApi } from "./harness.js";

/**
 * Every text field of every route, fed the strings that broke it before: a lone surrogate
 * (cjson refused it inside a script: 500), NUL, 1 MB, and bytes that are not UTF-8. No
 * answer is a 5xx, and a rejected request writes nothing (one DEBUG DIGEST of the whole
 * dataset before and after). Targets (runs, leases, keys) do not exist, so a request that
 * passes every check still ends at a 404/409 inside its script, after the script has
 * decoded its argument: exactly where an unescaped string used to fail.
 */
let redis: RedisProcess;
let admin: Redis;

beforeAll(async () => {
  redis = await startRedis({ args: ["--enable-debug-command", "local"] });
  admin = new Redis(redis.url);
  await configureRuntime({ env: { REDIS_URL: redis.url, WEFT_API_KEYS: `${KEY_A}:acme` } });
});
afterAll(async () => {
  await resetRuntime();
  admin.disconnect();
  await redis.stop();
});

interface Req {
  method: string;
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: unknown;
}

const MARK = "\u0001MARK\u0001";
const EVIL: [label: string, value: string][] = [
  ["a lone surrogate", "a\udc00b"],
  ["NUL", "a\u0000b"],
  ["1 MB", "x".repeat(1024 * 1024)],
  ["non-UTF-8 bytes", MARK],
];

const writerHeaders = { "x-weft-agent": "ag", "x-weft-run": "r", "x-weft-node": "n", "x-weft-attempt": "1" };
const state = (base: string): Req[] => [
  { method: "GET", path: base },
  { method: "PUT", path: base, headers: { "if-match": '"1"', ...writerHeaders }, body: { text: "v" } },
  { method: "PATCH", path: base, headers: { "if-match": '"1"', ...writerHeaders }, body: { text: "v" } },
  { method: "DELETE", path: base, headers: { "if-match": '"1"', ...writerHeaders } },
  { method: "GET", path: `${base}/history`, query: { limit: "5" } },
  { method: "POST", path: `${base}/transition`, headers: writerHeaders, body: { machine: "m", to: "s", expectedVersion: 1 } },
];
const node = "/v1/dags/{fz-run}/nodes/{a}";
const REQUESTS: Req[] = [
  { method: "POST", path: "/v1/dags", body: { id: "fz-new", idempotencyKey: "k1", onFailure: "continue", nodes: [{ id: "a", agent: "fz-ag", input: { text: "t" } }] } },
  { method: "GET", path: "/v1/dags", query: { status: "running", since: "0", limit: "5", cursor: "c" } },
  { method: "GET", path: "/v1/dags/{fz-run}", query: { include: "input" } },
  { method: "GET", path: "/v1/dags/{fz-run}/events", query: { after: "0", limit: "5" } },
  { method: "GET", path: "/v1/dags/{fz-run}/history", query: { at: "1" } },
  { method: "POST", path: "/v1/dags/{fz-run}/cancel", body: { reason: "r" } },
  { method: "POST", path: "/v1/dags/{fz-run}/watch-token", body: { ttlSeconds: 60 } },
  { method: "POST", path: "/v1/dags/{fz-run}/redrive", body: {} },
  { method: "POST", path: "/v1/dags/{fz-run}/rewind", body: { nodeId: "a" } },
  { method: "GET", path: "/v1/agents", query: { within: "1000" } },
  { method: "GET", path: "/v1/agents/{fz-agent}", query: { within: "1000" } },
  { method: "POST", path: "/v1/agents/{fz-agent}/claim", body: { workerId: "w", max: 1 } },
  { method: "POST", path: `${node}/claim`, body: { workerId: "w" } },
  { method: "POST", path: `${node}/complete`, body: { leaseToken: "1.x", output: { text: "o" }, workerId: "w", claimNext: { agent: "ag", workerId: "w" }, state: [{ key: "k", value: "v", create: true }] } },
  { method: "POST", path: `${node}/fail`, body: { leaseToken: "1.x", error: { message: "m", detail: "d" }, workerId: "w" } },
  { method: "POST", path: `${node}/heartbeat`, body: { leaseToken: "1.x" } },
  { method: "POST", path: `${node}/release`, body: { leaseToken: "1.x", workerId: "w" } },
  { method: "GET", path: `${node}/parents` },
  { method: "POST", path: `${node}/extend`, body: { leaseToken: "1.x", nodes: [{ id: "fz-x", agent: "fz-ag", input: { text: "t" } }], deps: { b: ["fz-x"] } } },
  { method: "POST", path: "/v1/dags/{fz-run}/nodes", body: { nodes: [{ id: "fz-y", agent: "fz-ag", input: { text: "t" } }] } },
  { method: "POST", path: `${node}/signal`, body: { output: { text: "o" }, by: "b", signalId: "s" } },
  { method: "POST", path: `${node}/signal`, body: { error: { message: "m" }, by: "b" } },
  { method: "POST", path: `${node}/uploads`, body: { field: "output", bytes: 10 } },
  { method: "POST", path: `${node}/suspend`, body: { leaseToken: "1.x", wait: { timeoutMs: 1000, key: "k", output: { text: "d" } }, input: { text: "i" }, workerId: "w" } },
  { method: "POST", path: "/v1/dags/{fz-run}/pause", body: {} },
  { method: "POST", path: "/v1/dags/{fz-run}/resume", body: {} },
  { method: "POST", path: "/v1/signals", body: { key: "k", output: { text: "o" }, by: "b", signalId: "s" } },
  { method: "POST", path: "/v1/signals/{tok}", body: { output: { text: "o" }, by: "b" } },
  ...state("/v1/dags/{fz-run}/state/{k}"),
  ...state("/v1/state/{ns}/{k}"),
  { method: "GET", path: "/v1/dags/{fz-run}/state", query: { limit: "5", cursor: "0" } },
  { method: "GET", path: "/v1/state/{ns}", query: { limit: "5", cursor: "0" } },
  { method: "GET", path: "/v1/state", query: { limit: "5", cursor: "0" } },
  { method: "PUT", path: "/v1/machines/{m}", body: { states: ["a", "b"], initial: "a", transitions: { a: ["b"] } } },
  { method: "GET", path: "/v1/machines/{m}" },
  { method: "GET", path: "/health" },
];

/** Every string in a JSON value, by path (object keys included). */
function stringPaths(value: unknown, path: (string | number)[] = []): { path: (string | number)[]; key?: boolean }[] {
  if (typeof value === "string") return [{ path }];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringPaths(v, [...path, i]));
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => [{ path: [...path, k], key: true }, ...stringPaths(v, [...path, k])]);
  }
  return [];
}

function withString(value: unknown, at: { path: (string | number)[]; key?: boolean }, evil: string): unknown {
  const wrapper: Record<string | number, unknown> = { root: structuredClone(value) };
  let parent = wrapper;
  let k: string | number = "root";
  for (const p of at.path) {
    parent = parent[k] as Record<string | number, unknown>;
    k = p;
  }
  if (at.key) {
    const v = parent[k];
    delete parent[k];
    parent[`${String(k)}${evil}`] = v;
  } else parent[k] = evil;
  return wrapper.root;
}

/** The reply, with a body that is not JSON kept as text (so a failure is reported, not thrown). */
function reply(res: APIGatewayProxyResultV2): Reply {
  try {
    return decode(res);
  } catch {
    const r = res as APIGatewayProxyStructuredResultV2;
    return { status: r.statusCode ?? 200, headers: r.headers ?? {}, json: r.body };
  }
}

type Variant = { label: string; req: Req; where: string };

function variants(): Variant[] {
  const out: Variant[] = [];
  for (const req of REQUESTS) {
    for (const [label, evil] of EVIL) {
      const name = `${req.method} ${req.path}`;
      for (const m of req.path.matchAll(/\{([^}]+)\}/g)) out.push({ label, where: `${name} path ${m[1]}`, req: { ...req, path: req.path.replace(m[0], `{${evil}}`) } });
      for (const q of Object.keys(req.query ?? {})) out.push({ label, where: `${name} query ${q}`, req: { ...req, query: { ...req.query, [q]: evil } } });
      for (const h of Object.keys(req.headers ?? {})) out.push({ label, where: `${name} header ${h}`, req: { ...req, headers: { ...req.headers, [h]: evil } } });
      if (req.body !== undefined) {
        for (const at of stringPaths(req.body)) {
          out.push({ label, where: `${name} body ${at.path.join(".")}${at.key ? " (key)" : ""}`, req: { ...req, body: withString(req.body, at, evil) } });
        }
      }
    }
  }
  return out;
}

function encodePath(path: string): string {
  return path.replace(/\{([^}]*)\}/g, (_m, v: string) => (v === MARK ? "%FF%FEx" : encodeURIComponent(v.replace(/\udc00/g, "")).replace(/b$/, v.includes("\udc00") ? "%ED%B0%80b" : "b")));
}

async function send(req: Req) {
  const path = encodePath(req.path);
  const query = req.query
    ? `?${Object.entries(req.query)
        .map(([k, v]) => `${k}=${v === MARK ? "%FF%FE" : encodeURIComponent(v.replace(/\udc00/g, "\ufffd")).replace("%EF%BF%BD", "%ED%B0%80")}`)
        .join("&")}`
    : "";
  const headers = Object.fromEntries(Object.entries(req.headers ?? {}).map(([k, v]) => [k, v === MARK ? "\xff\xfe" : v]));
  if (req.body === undefined) return reply(await api(apiEvent(req.method, `${path}${query}`, { key: KEY_A, headers })));
  const text = JSON.stringify(req.body);
  if (!text.includes(JSON.stringify(MARK).slice(1, -1))) return reply(await api(apiEvent(req.method, `${path}${query}`, { key: KEY_A, headers, rawBody: text })));
  // Bytes that are not UTF-8 (0xFF 0xFE) where the marker was, sent base64 as API Gateway does for binary bodies.
  const [before, after] = text.split(JSON.stringify(MARK).slice(1, -1));
  const bytes = Buffer.concat([Buffer.from(before!), Buffer.from([0xff, 0xfe]), Buffer.from(after!)]);
  const event = apiEvent(req.method, `${path}${query}`, { key: KEY_A, headers, rawBody: bytes.toString("base64") });
  event.isBase64Encoded = true;
  return reply(await api(event));
}

describe("fuzzing every text field of every route", () => {
  it("covers every documented route", async () => {
    const doc = reply(await api(apiEvent("GET", "/openapi.json"))).json as { paths: Record<string, object> };
    const documented = Object.entries(doc.paths).filter(([p]) => servedByApi(p)).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p.replace(/\{\w+\}/g, "{}")}`));
    const fuzzed = new Set(REQUESTS.map((r) => `${r.method} ${r.path.replace(/\{[^}]+\}/g, "{}")}`));
    expect(documented.filter((d) => !fuzzed.has(d))).toEqual([]);
  });

  it("never answers 5xx, and a rejected request writes nothing", async () => {
    const all = variants();
    expect(all.length).toBeGreaterThan(400);
    const failures: string[] = [];
    for (const v of all) {
      const before = await digest(admin);
      const r = await send(v.req);
      if (r.status >= 500) failures.push(`${v.where} with ${v.label}: ${r.status} ${JSON.stringify(r.json)}`);
      else if (r.status >= 400 && (await digest(admin)) !== before) failures.push(`${v.where} with ${v.label}: ${r.status} but wrote`);
      else if (r.status >= 400 && !r.json?.error?.code) failures.push(`${v.where} with ${v.label}: ${r.status} without the error envelope`);
    }
    expect(failures).toEqual([]);
  });

  it("keeps a lone surrogate and NUL intact where they are accepted: node input and output", async () => {
    const text = "a\udc00b\u0000c";
    const sub = reply(await api(apiEvent("POST", "/v1/dags", { key: KEY_A, body: { nodes: [{ id: "a", agent: "fz-intact", input: { text } }] } })));
    expect(sub.status).toBe(201);
    const claimed = reply(await api(apiEvent("POST", "/v1/agents/fz-intact/claim", { key: KEY_A, body: {} })));
    expect(claimed.json.tasks[0].input).toEqual({ text });
    const done = reply(await api(apiEvent("POST", `/v1/dags/${sub.json.dagId}/nodes/a/complete`, { key: KEY_A, body: { leaseToken: claimed.json.tasks[0].leaseToken, output: { text } } })));
    expect(done.status).toBe(200);
    const run = reply(await api(apiEvent("GET", `/v1/dags/${sub.json.dagId}`, { key: KEY_A })));
    expect(run.json.nodes[0].output).toEqual({ text });
  });
});
