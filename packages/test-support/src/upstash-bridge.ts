import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import { Redis } from "ioredis";
import { freePort, startRedis, type RedisProcess } from "./redis.js";

/**
 * A local stand-in for Upstash's REST endpoint, in front of a real redis-server, so the
 * real @upstash/redis client is exercised end to end. It speaks the documented protocol:
 *   POST /            body ["CMD", arg...]            -> {result} | 400 {error}
 *   POST /pipeline    body [["CMD", ...], ...]        -> [{result} | {error}, ...]
 *   POST /multi-exec  body [["CMD", ...], ...]        -> same, run in MULTI/EXEC; 400 {error} if aborted
 *   Authorization: Bearer <token>                      -> 401 {error} when missing or wrong
 *   Upstash-Encoding: base64                           -> every bulk string base64-encoded
 *                                                         (recursively in arrays), "OK" left as is
 */
export interface UpstashBridge {
  /** http://127.0.0.1:<port>, for UPSTASH_REDIS_REST_URL. */
  url: string;
  token: string;
  /** The redis-server behind the bridge (for admin commands in tests, e.g. SCRIPT FLUSH). */
  redis: { host: string; port: number };
  /** Every request served, in order (path, HTTP status, whether base64 was asked for). */
  requests: { path: string; status: number; base64: boolean }[];
  stop(): Promise<void>;
}

type Reply = null | number | string | Buffer | Reply[];
type Json = null | number | string | Json[];

export async function startUpstashBridge(opts: { token?: string; redisPort?: number } = {}): Promise<UpstashBridge> {
  const token = opts.token ?? randomBytes(16).toString("hex");
  const own: RedisProcess | undefined = opts.redisPort ? undefined : await startRedis();
  const redisPort = opts.redisPort ?? own!.port;
  // One retry: a dead backend fails the request quickly, as an Upstash outage would.
  const backend = new Redis({ host: "127.0.0.1", port: redisPort, enableAutoPipelining: false, maxRetriesPerRequest: 1 });
  backend.on("error", () => {});
  const requests: UpstashBridge["requests"] = [];

  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    const reply = (status: number, body: unknown) => {
      requests.push({ path, status, base64 });
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    handle(req, path, base64)
      .then(([status, body]) => reply(status, body))
      .catch((err: unknown) => reply(500, { error: err instanceof Error ? err.message : String(err) }));
  });

  async function handle(req: IncomingMessage, path: string, base64: boolean): Promise<[number, unknown]> {
    if (req.headers.authorization !== `Bearer ${token}`) {
      await drain(req);
      return [401, { error: "Unauthorized: invalid or missing auth token" }];
    }
    if (req.method !== "POST") return [405, { error: "ERR only POST is supported by this bridge" }];
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return [400, { error: "ERR failed to parse the request body as JSON" }];
    }
    const encode = (r: Reply): Json => toJson(r, base64);
    if (path === "/" || path === "") {
      const cmd = asCommand(body);
      if (!cmd) return [400, { error: "ERR the body must be a JSON array: [command, ...args]" }];
      try {
        return [200, { result: encode(await call(backend, cmd)) }];
      } catch (err) {
        return [400, { error: errorText(err) }];
      }
    }
    if (path === "/pipeline" || path === "/multi-exec") {
      const cmds = Array.isArray(body) ? body.map(asCommand) : [];
      if (cmds.length === 0 || cmds.some((c) => !c)) {
        return [400, { error: "ERR the body must be a non-empty JSON array of commands" }];
      }
      const batch = path === "/multi-exec" ? backend.multi() : backend.pipeline();
      for (const [name, ...args] of cmds as string[][]) batch.callBuffer(name!, ...args);
      let results: [Error | null, unknown][] | null;
      try {
        results = await batch.exec();
      } catch (err) {
        return [400, { error: errorText(err) }];
      }
      if (!results) return [400, { error: "EXECABORT Transaction discarded" }];
      return [200, results.map(([err, r]) => (err ? { error: errorText(err) } : { result: encode(r as Reply) }))];
    }
    return [404, { error: `ERR unknown path ${path}` }];
  }

  await backend.ping();
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    redis: { host: "127.0.0.1", port: redisPort },
    requests,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      backend.disconnect();
      await own?.stop();
    },
  };
}

function call(client: Redis, [name, ...args]: string[]): Promise<Reply> {
  return client.callBuffer(name!, ...args) as Promise<Reply>;
}

/** A command is a non-empty array of strings and numbers (the client sends both). */
function asCommand(x: unknown): string[] | undefined {
  if (!Array.isArray(x) || x.length === 0) return undefined;
  if (!x.every((a) => typeof a === "string" || typeof a === "number" || typeof a === "boolean")) return undefined;
  return x.map(String);
}

function toJson(r: Reply, base64: boolean): Json {
  if (r === null || typeof r === "number") return r;
  if (Array.isArray(r)) return r.map((x) => toJson(x, base64));
  const buf = Buffer.isBuffer(r) ? r : Buffer.from(r);
  // Status replies (OK) come back bare; the client special-cases "OK" for that reason.
  if (!base64 || buf.equals(OK)) return buf.toString("utf8");
  return buf.toString("base64");
}

const OK = Buffer.from("OK");

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _ of req) void _;
}
