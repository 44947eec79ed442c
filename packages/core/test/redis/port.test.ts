import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UnavailableError, ValidationError } from "@weft/core";
import { connectRedis, redisConfigFromEnv, luaScript, TcpRedis, UpstashRedis } from "@weft/core/redis";
import { admin, backends, useBackend, freePort, startPersistentRedis, startRedis, startUpstashBridge, type UpstashBridge } from "@weft/test-support";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "lua");
const counter = luaScript("port-counter", fixtures);

interface CounterReply {
  n: number;
  arg: string;
  keys: number;
}
const parse = (s: string) => JSON.parse(s) as CounterReply;
const shardKey = (shard: number, name: string) => `weft:{weft:${shard}}:${name}`;

describe.each(backends)("RedisPort on %s", (name) => {
  const backend = useBackend(name);

  it("runs a script and returns its JSON reply as a raw string, byte for byte", async () => {
    const redis = backend().redis();
    const arg = 'héllo ✓ "quoted" 123 {"nested":[1,null]}';
    const first = await redis.run(counter, [shardKey(0, "rt")], [arg]);
    expect(typeof first).toBe("string");
    expect(parse(first)).toEqual({ n: 1, arg, keys: 1 });
    expect(parse(await redis.run(counter, [shardKey(0, "rt")], ["x"])).n).toBe(2);
    expect(redis.calls).toBe(2);
    expect(redis.cluster).toBe(name === "cluster");
    expect(redis).toBeInstanceOf(name === "upstash" ? UpstashRedis : TcpRedis);
  });

  it("keeps every reply when many scripts are in flight at once (auto-pipelining)", async () => {
    const redis = backend().redis();
    const replies = await Promise.all(
      Array.from({ length: 60 }, (_, i) => redis.run(counter, [shardKey(i % backend().shardCount, "burst")], [String(i)])),
    );
    expect(replies.map((r) => parse(r).arg)).toEqual(Array.from({ length: 60 }, (_, i) => String(i)));
    const perShard = new Map<number, number[]>();
    replies.forEach((r, i) => {
      const shard = i % backend().shardCount;
      perShard.set(shard, [...(perShard.get(shard) ?? []), parse(r).n]);
    });
    for (const ns of perShard.values()) expect([...ns].sort((a, b) => a - b)).toEqual(ns.map((_, j) => j + 1));
  });

  // TCP runs scripts as Redis Functions (FCALL), REST as EVALSHA: each reloads what a flush removed.
  const loaded = async (): Promise<boolean[]> =>
    Promise.all(
      backend().nodes.map((n) =>
        admin(n, async (c) =>
          name === "upstash"
            ? ((await c.script("EXISTS", counter.sha)) as number[])[0] === 1
            : ((await c.call("FUNCTION", "LIST", "LIBRARYNAME", counter.library.name)) as unknown[]).length > 0,
        ),
      ),
    );
  const flushScripts = (n: { host: string; port: number }) => admin(n, async (c) => (name === "upstash" ? c.script("FLUSH") : c.call("FUNCTION", "FLUSH")));

  it("loads the script again after Redis lost it (FUNCTION FLUSH or SCRIPT FLUSH, a restart)", async () => {
    const redis = backend().redis();
    const key = shardKey(2, "noscript");
    await redis.run(counter, [key], ["a"]);
    expect(await loaded()).toContain(true);
    if (name !== "upstash") expect(await loaded()).not.toContain(false); // the library is on every master
    await Promise.all(backend().nodes.map(flushScripts));
    expect(await loaded()).not.toContain(true);
    expect(parse(await redis.run(counter, [key], ["b"]))).toEqual({ n: 2, arg: "b", keys: 1 });
    expect(await loaded()).toContain(true);
  });

  it("surfaces a script's Redis error as a plain error with the Redis message", async () => {
    const redis = backend().redis();
    const key = shardKey(1, "not-a-number");
    await redis.run(counter, [shardKey(1, "seed"), key], ["text"]); // sets `key` to "text"
    const err = await redis.run(counter, [key], ["x"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toMatch(/not an integer/);
    expect((err as Error).message).not.toMatch(/command was|INCR", KEYS/);
  });

  it.runIf(name === "cluster")("spreads {weft:N} shards over different masters and runs scripts on each", async () => {
    const redis = backend().redis();
    for (let shard = 0; shard < backend().shardCount; shard++) {
      const reply = parse(await redis.run(counter, [shardKey(shard, "spread"), shardKey(shard, "spread-copy")], [`s${shard}`]));
      expect(reply).toEqual({ n: 1, arg: `s${shard}`, keys: 2 });
    }
    const holders = new Map<string, number>();
    for (const node of backend().nodes) {
      const keys = await admin(node, (c) => c.keys("*spread"));
      for (const k of keys) {
        expect(holders.has(k)).toBe(false);
        holders.set(k, node.port);
      }
    }
    expect(holders.size).toBe(backend().shardCount);
    expect(new Set(holders.values()).size).toBe(3);
    // The reload path on one master only (as after its restart): the others keep the library.
    const victim = holders.get(shardKey(3, "spread"))!;
    await admin({ host: "127.0.0.1", port: victim }, (c) => c.call("FUNCTION", "FLUSH"));
    expect(parse(await redis.run(counter, [shardKey(3, "spread")], ["again"])).n).toBe(2);
  });

  it.runIf(name === "cluster")("rejects a script whose keys span two hash slots instead of half-applying it", async () => {
    const redis = backend().redis();
    const err = await redis.run(counter, [shardKey(0, "cross"), shardKey(2, "cross")], ["x"]).catch((e: unknown) => e);
    // ioredis refuses it client-side ("...should belong to the same slot"); Redis would say CROSSSLOT.
    expect((err as Error).message).toMatch(/CROSSSLOT|same slot/);
    const held = await Promise.all(backend().nodes.map((n) => admin(n, (c) => c.keys("*cross"))));
    expect(held.flat()).toEqual([]);
  });
});

describe("Upstash REST bridge", () => {
  let bridge: UpstashBridge;
  beforeAll(async () => {
    bridge = await startUpstashBridge({ token: "good-token" });
  });
  afterAll(() => bridge.stop());

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${bridge.url}${path}`, {
      method: "POST",
      headers: { authorization: "Bearer good-token", "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as unknown }));

  it("rejects a bad or missing token with 401, which the adapter reports as UnavailableError", async () => {
    expect((await post("/", ["PING"], { authorization: "Bearer wrong" })).status).toBe(401);
    expect((await post("/", ["PING"], { authorization: "" })).status).toBe(401);
    const redis = new UpstashRedis({ url: bridge.url, token: "wrong" });
    const err = await redis.run(counter, ["k"], ["x"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toMatch(/unauthorized/i);
  });

  it("base64-encodes string results (recursively) only when Upstash-Encoding: base64 is sent", async () => {
    expect(await post("/", ["SET", "b64", "héllo"])).toEqual({ status: 200, body: { result: "OK" } });
    expect((await post("/", ["GET", "b64"])).body).toEqual({ result: "héllo" });
    const enc = { "upstash-encoding": "base64" };
    expect((await post("/", ["GET", "b64"], enc)).body).toEqual({ result: Buffer.from("héllo").toString("base64") });
    await post("/", ["RPUSH", "b64list", "a", "b"]);
    expect((await post("/", ["LRANGE", "b64list", "0", "-1"], enc)).body).toEqual({ result: ["YQ==", "Yg=="] });
    expect((await post("/", ["GET", "missing"], enc)).body).toEqual({ result: null });
    expect((await post("/", ["INCR", "n"], enc)).body).toEqual({ result: 1 });
  });

  it("answers errors as HTTP 400 {error}, and per command inside /pipeline and /multi-exec", async () => {
    expect(await post("/", ["INCR", "b64"])).toEqual({ status: 400, body: { error: expect.stringMatching(/not an integer/) } });
    expect(await post("/", { not: "an array" })).toMatchObject({ status: 400 });
    const pipe = await post("/pipeline", [["SET", "p", "1"], ["INCR", "b64"], ["INCR", "p"]]);
    expect(pipe).toEqual({ status: 200, body: [{ result: "OK" }, { error: expect.stringMatching(/not an integer/) }, { result: 2 }] });
    const multi = await post("/multi-exec", [["SET", "m", "5"], ["INCRBY", "m", 2]]);
    expect(multi).toEqual({ status: 200, body: [{ result: "OK" }, { result: 7 }] });
  });

  it("is what the real @upstash/redis client talks to: base64 on, scripts batched into /pipeline", async () => {
    const before = bridge.requests.length;
    const redis = new UpstashRedis({ url: bridge.url, token: "good-token" });
    const replies = await Promise.all([1, 2, 3].map((i) => redis.run(counter, ["c"], [`✓${i}`])));
    expect(replies.map((r) => parse(r).arg)).toEqual(["✓1", "✓2", "✓3"]);
    const served = bridge.requests.slice(before);
    expect(served.every((r) => r.base64)).toBe(true);
    expect(served.some((r) => r.path === "/pipeline")).toBe(true);
    expect(served.length).toBeLessThan(3 * 2); // batched: fewer requests than EVALSHA+EVAL per script
  });

  it("reports a bridge that is down as UnavailableError", async () => {
    const port = await freePort();
    const redis = new UpstashRedis({ url: `http://127.0.0.1:${port}`, token: "t", retries: 0 });
    await expect(redis.run(counter, ["k"], ["x"])).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe("AOF-persisted node", () => {
  it("keeps acknowledged data across a crash and restart, and the port reconnects by itself", async () => {
    const node = await startPersistentRedis();
    const redis = new TcpRedis({ url: node.url });
    try {
      for (let i = 1; i <= 3; i++) expect(parse(await redis.run(counter, ["aof"], ["x"])).n).toBe(i);
      await node.halt({ crash: true });
      await expect(redis.run(counter, ["aof"], ["x"])).rejects.toBeInstanceOf(UnavailableError);
      await node.restart();
      // Whatever the restarted node kept of its scripts, the port loads what is missing.
      expect(parse(await redis.run(counter, ["aof"], ["x"])).n).toBe(4);
    } finally {
      await redis.close();
      await node.stop();
    }
  });
});

describe("TCP adapter without Redis Functions", () => {
  it("uses EVALSHA when this user may not use FUNCTION/FCALL, or when asked to", async () => {
    const node = await startRedis({ args: ["--user", "agent", "on", ">pw", "~*", "+@all", "-function", "-fcall", "-fcall_ro"] });
    const denied = new TcpRedis({ url: `redis://agent:pw@127.0.0.1:${node.port}` });
    const evalOnly = new TcpRedis({ url: node.url, functions: false });
    try {
      expect(parse(await denied.run(counter, ["nofn"], ["a"])).n).toBe(1);
      expect(parse(await denied.run(counter, ["nofn"], ["b"])).n).toBe(2);
      expect(parse(await evalOnly.run(counter, ["nofn"], ["c"])).n).toBe(3);
      await admin({ host: "127.0.0.1", port: node.port }, async (c) => {
        expect(((await c.script("EXISTS", counter.sha)) as number[])[0]).toBe(1);
        expect(await c.call("FUNCTION", "LIST")).toEqual([]);
      });
    } finally {
      await Promise.all([denied.close(), evalOnly.close()]);
      await node.stop();
    }
  });
});

describe("TCP connection options", () => {
  it("authenticates with a password and with an ACL user from the URL", async () => {
    const node = await startRedis({ args: ["--requirepass", "s3cr/t", "--user", "agent", "on", ">pw", "~*", "+@all"] });
    const ports = [
      new TcpRedis({ url: `redis://:${encodeURIComponent("s3cr/t")}@127.0.0.1:${node.port}` }),
      new TcpRedis({ url: `redis://agent:pw@127.0.0.1:${node.port}` }),
    ];
    const wrong = new TcpRedis({ url: `redis://agent:nope@127.0.0.1:${node.port}`, options: { maxRetriesPerRequest: 0 } });
    try {
      expect(parse(await ports[0]!.run(counter, ["auth"], ["a"])).n).toBe(1);
      expect(parse(await ports[1]!.run(counter, ["auth"], ["b"])).n).toBe(2);
      await expect(wrong.run(counter, ["auth"], ["c"])).rejects.toBeInstanceOf(UnavailableError);
    } finally {
      await Promise.all([...ports, wrong].map((p) => p.close()));
      await node.stop();
    }
  });

  it("connects over TLS with rediss:// and a CA", async () => {
    const certs = mkdtempSync(join(tmpdir(), "weft-tls-"));
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-keyout", join(certs, "key.pem"), "-out", join(certs, "cert.pem"),
    ], { stdio: "ignore" });
    const tlsPort = await freePort();
    const node = await startRedis({
      args: [
        "--tls-port", String(tlsPort), "--tls-auth-clients", "no",
        "--tls-cert-file", join(certs, "cert.pem"), "--tls-key-file", join(certs, "key.pem"),
        "--tls-ca-cert-file", join(certs, "cert.pem"),
      ],
    });
    const redis = new TcpRedis({ url: `rediss://127.0.0.1:${tlsPort}`, options: { tls: { ca: readFileSync(join(certs, "cert.pem")) } } });
    try {
      expect(parse(await redis.run(counter, ["tls"], ["over tls"]))).toEqual({ n: 1, arg: "over tls", keys: 1 });
    } finally {
      await redis.close();
      await node.stop();
      rmSync(certs, { recursive: true, force: true });
    }
  });
});

describe("Redis config", () => {
  it("reads the four environment variables and ignores empty ones", () => {
    expect(redisConfigFromEnv({ REDIS_URL: "redis://h:1", REDIS_CLUSTER_NODES: " " })).toEqual({ url: "redis://h:1" });
    expect(redisConfigFromEnv({ REDIS_CLUSTER_NODES: "a:1,b:2" })).toEqual({ clusterNodes: "a:1,b:2" });
    expect(redisConfigFromEnv({ UPSTASH_REDIS_REST_URL: "https://x.upstash.io", UPSTASH_REDIS_REST_TOKEN: "t" })).toEqual({
      upstashUrl: "https://x.upstash.io",
      upstashToken: "t",
    });
  });

  it.each([
    [{ REDIS_URL: "http://h:1" }, "REDIS_URL"],
    [{ REDIS_URL: "not a url" }, "REDIS_URL"],
    [{ REDIS_CLUSTER_NODES: "a:1,b" }, "REDIS_CLUSTER_NODES"],
    [{ REDIS_CLUSTER_NODES: "a:99999" }, "REDIS_CLUSTER_NODES"],
    [{ UPSTASH_REDIS_REST_URL: "https://x.upstash.io" }, "UPSTASH_REDIS_REST_TOKEN"],
    [{ UPSTASH_REDIS_REST_TOKEN: "t" }, "UPSTASH_REDIS_REST_URL"],
    [{ UPSTASH_REDIS_REST_URL: "redis://x", UPSTASH_REDIS_REST_TOKEN: "t" }, "UPSTASH_REDIS_REST_URL"],
    [{ UPSTASH_REDIS_REST_URL: "https://x", UPSTASH_REDIS_REST_TOKEN: "t", REDIS_URL: "redis://h" }, "UPSTASH_REDIS_REST_URL"],
  ])("rejects %j with a ValidationError naming %s", (env, field) => {
    const err = (() => {
      try {
        redisConfigFromEnv(env);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe(field);
  });

  it.each([
    [{}, "url"],
    [{ url: "mongodb://x" }, "url"],
    [{ clusterNodes: "nohost" }, "clusterNodes"],
    [{ upstashUrl: "https://x" }, "upstashToken"],
    [{ upstashUrl: "https://x", upstashToken: "t", url: "redis://h" }, "url"],
  ])("connectRedis(%j) throws a ValidationError naming %s", (cfg, field) => {
    expect(() => connectRedis(cfg)).toThrow(ValidationError);
    try {
      connectRedis(cfg);
    } catch (e) {
      expect((e as ValidationError).field).toBe(field);
    }
  });
});
