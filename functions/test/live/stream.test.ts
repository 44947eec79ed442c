import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisProcess } from "@weft/test-support";
import { getRuntime } from "../../config.js";
import { startLocal, type Local } from "../../local/emulator.js";
import { liveFor } from "../../live/lambda-stream.js";
import { watchTokens } from "../../live/watch-token.js";
import { openSse, type SseStream } from "./sse.js";

/**
 * The stream API end to end: the local gateway, the Stream function's real streaming
 * handler (functions/stream.ts), the shared log reader, a real redis-server.
 */
const KEY_A = "key-acme-stream-0123456789";
const KEY_B = "key-globex-stream-9876543210";
let redis: RedisProcess;
let local: Local;
let dataDir: string;
let admin: Redis;

beforeAll(async () => {
  redis = await startRedis();
  dataDir = mkdtempSync(join(tmpdir(), "weft-stream-"));
  Object.assign(process.env, { REDIS_URL: redis.url, DYNAMODB_ENDPOINT: "", WEFT_API_KEYS: `${KEY_A}:acme,${KEY_B}:globex`, WEFT_WATCH_SECRET: "test-watch-secret-0123456789" });
  local = await startLocal({ port: 0, dataDir, log: () => {}, subscriptions: () => false, reconcileMs: 60_000 });
  admin = new Redis(redis.url);
});
afterAll(async () => {
  admin?.disconnect();
  await local?.stop();
  await redis?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const auth = (key = KEY_A) => ({ authorization: `Bearer ${key}` });
async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = auth()) {
  const res = await fetch(`${local.baseUrl}${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

let n = 0;
const uid = (label: string) => `${label}-${process.pid}-${++n}`;

/** Submits a flat run of `width` nodes of one agent, as `tenant`. */
async function submitFlat(id: string, width: number, tenant = "acme") {
  const r = await getRuntime().engine.submit(tenant, { id, nodes: Array.from({ length: width }, (_, i) => ({ id: `n${i}`, agent: `${id}-agent` })) });
  expect(r.created).toBe(true);
}

/** Claims and completes up to `count` ready nodes of the run's agent. */
async function work(id: string, count = Infinity, tenant = "acme") {
  const engine = getRuntime().engine;
  let done = 0;
  while (done < count) {
    const tasks = await engine.claim(tenant, `${id}-agent`, { max: Math.min(100, count - done), leaseMs: 60_000, workerId: "w1" });
    if (!tasks.length) break;
    for (const t of tasks) await engine.complete(tenant, t, { i: t.nodeId });
    done += tasks.length;
  }
}

const streamUrl = (dagId: string, q = "") => `${local.baseUrl}/v1/dags/${dagId}/events/stream${q}`;
const seqs = (s: SseStream) => s.messages.filter((m) => m.event === "message").map((m) => Number(m.id));
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

describe("the run stream", () => {
  it("resumes by Last-Event-ID at every position of a 2,000-event log with no gap and no duplicate", async () => {
    // A chain of 666 nodes, one small log entry per call: submitted, ready, then per node
    // started, succeeded (+ the next one ready), and run.succeeded: 2,000 events.
    const id = uid("long");
    const engine = getRuntime().engine;
    await engine.submit("acme", { id, nodes: Array.from({ length: 666 }, (_, i) => ({ id: `n${i}`, agent: `${id}-agent`, ...(i ? { deps: [`n${i - 1}`] } : {}) })) });
    await work(id);
    const total = 2000;
    // A client that drops after every event and resumes from the last id it saw: every
    // position of the log is a resume point once, and together they must be the log.
    // Four such clients, each over a quarter of the log, side by side.
    const chain = async (from: number, to: number) => {
      const got: number[] = [];
      let end: { status: string; seq: number } | undefined;
      for (let last = from; last < to && !end; ) {
        const s = await openSse(streamUrl(id), { ...auth(), "last-event-id": String(last) });
        expect(s.status).toBe(200);
        const [m] = await s.waitFor(1);
        s.close();
        if (m!.event === "end") end = JSON.parse(m!.data);
        else got.push((last = Number(m!.id)));
      }
      return { got, end };
    };
    const parts = await Promise.all([0, 500, 1000, 1500].map((from) => chain(from, from === 1500 ? Infinity : from + 500)));
    expect(parts.flatMap((p) => p.got)).toEqual(range(1, total));
    expect(parts.map((p) => p.end)).toEqual([undefined, undefined, undefined, { status: "succeeded", seq: total }]);
    // A log written in big entries (a 666-node submit is entries of 500 + 167 events), read
    // from positions around the entry and page boundaries to the end in one go.
    const flat = uid("flat");
    await submitFlat(flat, 666);
    await work(flat);
    for (const from of [0, 1, 499, 500, 501, 999, 1000, 1001, 1998, 1999]) {
      const s = await openSse(streamUrl(flat, `?after=${from}`), auth());
      await s.closed;
      expect(seqs(s)).toEqual(range(from + 1, total));
      expect(s.messages.at(-1)!.event).toBe("end");
    }
  });

  it("delivers live events to many concurrent streams from one blocking reader, and a run that ends closes them", async () => {
    const runs = Array.from({ length: 10 }, () => uid("many"));
    for (const id of runs) await submitFlat(id, 5);
    const streams = await Promise.all(runs.flatMap((id) => Array.from({ length: 20 }, () => openSse(streamUrl(id), auth()))));
    // submitted + 5 ready, already in the log
    await Promise.all(streams.map((s) => s.waitFor(6)));
    const blocked = () => admin.call("CLIENT", "LIST").then((l) => String(l).split("\n").filter((c) => /cmd=xread/.test(c)).length);
    expect(liveFor(getRuntime()).watch.stats()).toMatchObject({ followers: 200, readers: 1 });
    expect(await blocked()).toBe(1);
    for (const id of runs) await work(id);
    await Promise.all(streams.map((s) => s.closed));
    for (const s of streams) {
      expect(seqs(s)).toEqual(range(1, 17));
      expect(s.messages.at(-1)).toMatchObject({ event: "end" });
    }
    expect(liveFor(getRuntime()).watch.stats()).toMatchObject({ followers: 0 });
    // Watched a moment longer (a reconnecting client finds them), then let go.
    await new Promise((r) => setTimeout(r, 1200));
    expect(liveFor(getRuntime()).watch.stats()).toMatchObject({ runs: 0, followers: 0 });
    expect(await blocked()).toBe(1); // the reader itself stays, blocked on nothing new
  });

  it("answers a finished run from its end at once, and refuses a cursor past the log", async () => {
    const id = uid("done");
    await submitFlat(id, 1);
    await work(id);
    const s = await openSse(streamUrl(id, "?after=5"), auth());
    await s.closed;
    expect(s.messages).toEqual([{ event: "end", data: JSON.stringify({ status: "succeeded", seq: 5 }) }]);
    const past = await openSse(streamUrl(id, "?after=6"), auth());
    expect(past.status).toBe(422);
    expect(JSON.parse(past.text!).error.field).toBe("after");
    const bad = await openSse(streamUrl(id), { ...auth(), "last-event-id": "x" });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text!).error.field).toBe("Last-Event-Id"); // headers are named as HTTP writes them
    expect((await openSse(streamUrl("no-such-run"), auth())).status).toBe(404);
  });

  it("sends heartbeats when nothing happens", async () => {
    const id = uid("idle");
    await submitFlat(id, 1);
    const live = liveFor(getRuntime());
    const { createStreamApp } = await import("../../live/routes.js");
    const rt = getRuntime();
    const app = createStreamApp({ auth: rt.config.auth, tokens: rt.tokens, runs: rt.runs, watch: live.watch, runsWatch: live.runsWatch, heartbeatMs: 50 });
    const res = await app.request(`/v1/dags/${id}/events/stream`, { headers: auth() });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while ((text.match(/: ping/g) ?? []).length < 2) text += (await reader.read()).value;
    await reader.cancel();
    expect(text).toContain("id: 2\n");
  });
});

describe("watch tokens", () => {
  it("open the stream and the reads of their own run, and nothing else", async () => {
    const a = uid("tok-a");
    const b = uid("tok-b");
    await submitFlat(a, 1);
    await submitFlat(b, 1);
    await submitFlat(a, 1, "globex"); // same id, other tenant
    const minted = await call("POST", `/v1/dags/${a}/watch-token`, {});
    expect(minted.status).toBe(200);
    const { token, streamUrl: url } = minted.body as { token: string; streamUrl: string };
    expect(url).toBe(`/v1/dags/${a}/events/stream?token=${token}`);

    const s = await openSse(`${local.baseUrl}${url}`);
    expect(s.status).toBe(200);
    await s.waitFor(2);
    s.close();
    const run = await call("GET", `/v1/dags/${a}?token=${token}`, undefined, {});
    expect(run).toMatchObject({ status: 200, body: { tenant: "acme", dagId: a } });
    expect((await call("GET", `/v1/dags/${a}/events?token=${token}`, undefined, {})).status).toBe(200);
    expect((await call("GET", `/v1/dags/${a}/history?at=1&token=${token}`, undefined, {})).status).toBe(200);

    // Another run, writes, the tenant stream, listing, minting: 401.
    expect((await openSse(streamUrl(b, `?token=${token}`))).status).toBe(401);
    expect((await call("GET", `/v1/dags/${b}?token=${token}`, undefined, {})).status).toBe(401);
    expect((await call("POST", `/v1/dags/${a}/cancel?token=${token}`, {}, {})).status).toBe(401);
    expect((await call("GET", `/v1/dags?token=${token}`, undefined, {})).status).toBe(401);
    expect((await openSse(`${local.baseUrl}/v1/events/stream?token=${token}`)).status).toBe(401);
    expect((await call("POST", `/v1/dags/${a}/watch-token?token=${token}`, {}, {})).status).toBe(401);
    // Globex's run of the same id is not acme's: a token globex minted reads globex's run only.
    const g = await call("POST", `/v1/dags/${a}/watch-token`, {}, auth(KEY_B));
    expect((await call("GET", `/v1/dags/${a}?token=${g.body.token}`, undefined, {})).body.tenant).toBe("globex");
    // A run the tenant does not have gets no token.
    expect((await call("POST", `/v1/dags/${uid("none")}/watch-token`, {})).status).toBe(404);
    expect((await call("POST", `/v1/dags/${a}/watch-token`, { ttlSeconds: 0 })).body.error.field).toBe("ttlSeconds");
  });

  it("are refused when expired or forged", async () => {
    const a = uid("tok-x");
    await submitFlat(a, 1);
    const tokens = getRuntime().tokens;
    const expired = tokens.issue("acme", a, 60, Date.now() - 61_000).token;
    const other = watchTokens("another-secret-0123456789").issue("acme", a).token;
    const good = tokens.issue("acme", a).token;
    const [payload, sig] = good.split(".");
    const widened = `${Buffer.from(JSON.stringify({ t: "acme", d: a, e: Date.now() + 86_400_000 })).toString("base64url")}.${sig}`;
    for (const t of [expired, other, widened, `${payload}.`, "garbage", ""]) {
      const s = await openSse(streamUrl(a, `?token=${encodeURIComponent(t)}`));
      expect(s.status, t).toBe(401);
      expect(JSON.parse(s.text!).error.code).toBe("unauthorized");
    }
    const ok = await openSse(streamUrl(a, `?token=${good}`));
    expect(ok.status).toBe(200);
    ok.close();
  });
});

describe("the tenant stream", () => {
  it("sends the tenant's runs, then their changes, and never another tenant's", async () => {
    const s = await openSse(`${local.baseUrl}/v1/events/stream`, auth());
    expect(s.status).toBe(200);
    const id = uid("tenant");
    await submitFlat(id, 2);
    const theirs = uid("theirs");
    await submitFlat(theirs, 1, "globex");
    const find = async (pred: (r: { dagId: string; status: string; counts: Record<string, number> }) => boolean) => {
      for (let i = 0; i < 100; i++) {
        const hit = s.messages.map((m) => JSON.parse(m.data)).find(pred);
        if (hit) return hit;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error("no such change");
    };
    await find((r) => r.dagId === id && r.status === "running");
    await work(id);
    expect(await find((r) => r.dagId === id && r.status === "succeeded")).toMatchObject({ counts: { succeeded: 2 } });
    expect(s.messages.some((m) => JSON.parse(m.data).dagId === theirs)).toBe(false);
    s.close();
  });
});
