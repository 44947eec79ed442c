import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

/**
 * The client's requests over node:http(s) with keep-alive agents: a worker makes one
 * request per hop, and global fetch (undici) costs more per request than the whole API
 * handler does on a chain (bench/api.ts). The answer is read whole; only what
 * client.ts uses of a fetch Response is given. A connection failure is thrown as a
 * TypeError, as fetch throws it, so callers treat both alike.
 */
export interface Answer {
  ok: boolean;
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

export type Send = (url: URL, init: { method: string; headers: Record<string, string>; body?: string }) => Promise<Answer>;

const agents = {
  http: new HttpAgent({ keepAlive: true, scheduling: "lifo" }),
  https: new HttpsAgent({ keepAlive: true, scheduling: "lifo" }),
};

/**
 * A reused idle connection the server closed meanwhile (Node's documented case for
 * `reusedSocket`): sent again once on a fresh one. Should the request have arrived after all,
 * writes are fenced (lease tokens, idempotency keys) and answer as duplicates.
 */
const stale = (err: unknown, reused: boolean) => reused && ["ECONNRESET", "EPIPE"].includes((err as { code?: string }).code ?? "");

function once(url: URL, init: Parameters<Send>[1]): Promise<{ res: IncomingMessage; text: string } | { err: unknown; reused: boolean }> {
  const https = url.protocol === "https:";
  const headers = init.body === undefined ? init.headers : { ...init.headers, "content-length": String(Buffer.byteLength(init.body)) };
  return new Promise((resolve) => {
    const req = (https ? httpsRequest : httpRequest)(url, { method: init.method, headers, agent: https ? agents.https : agents.http }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ res, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", (err) => resolve({ err, reused: false }));
    });
    req.on("error", (err) => resolve({ err, reused: req.reusedSocket }));
    req.end(init.body);
  });
}

export const keepAliveSend: Send = async (url, init) => {
  let r = await once(url, init);
  if ("err" in r && stale(r.err, r.reused)) r = await once(url, init);
  if ("err" in r) throw new TypeError(`request to ${url.origin} failed: ${(r.err as Error).message}`, { cause: r.err });
  const { res, text } = r;
  const status = res.statusCode ?? 0;
  return {
    ok: status >= 200 && status < 300,
    status,
    headers: {
      get: (name) => {
        const v = res.headers[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
      },
    },
    text: async () => text,
  };
};
