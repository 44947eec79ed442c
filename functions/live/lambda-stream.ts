import { once } from "node:events";
import type { Writable } from "node:stream";
import type { APIGatewayProxyEvent, Context } from "aws-lambda";
import { TcpRedis } from "@weft/core/redis";
import { getRuntime, type Runtime } from "../config.js";
import { createLogWatch, type LogWatch } from "./log-watch.js";
import { createStreamApp } from "./routes.js";
import { createRunsWatch, type RunsWatch } from "./runs-watch.js";

/**
 * Lambda response streaming for the stream API. Deployed, API Gateway's REST API invokes
 * the function with `InvokeWithResponseStream` (integration `responseTransferMode: STREAM`)
 * and passes the body on as it is written. The runtime's `awslambda` global provides
 * `streamifyResponse` and `HttpResponseStream`; off Lambda (the emulator, tests) the same
 * wire format is produced here: a JSON metadata prelude, 8 NUL bytes, then the body
 * (functions/local/streaming.ts reads it as API Gateway does).
 */
export type StreamingHandler = ((event: APIGatewayProxyEvent, responseStream: Writable, context?: Context) => Promise<void>) & { [STREAMING]?: true };
export const STREAMING = Symbol.for("weft.lambda.streaming");

interface Metadata {
  statusCode: number;
  headers: Record<string, string>;
  cookies: string[];
}
interface LambdaGlobal {
  streamifyResponse(fn: StreamingHandler): StreamingHandler;
  HttpResponseStream: { from(stream: Writable, meta: Metadata): Writable };
}
const runtimeGlobal = (): LambdaGlobal | undefined => {
  const aws = (globalThis as unknown as { awslambda?: Partial<LambdaGlobal> }).awslambda;
  return typeof aws?.streamifyResponse === "function" && aws.HttpResponseStream ? (aws as LambdaGlobal) : undefined;
};

export const PRELUDE_END = Buffer.alloc(8);

function withMetadata(stream: Writable, meta: Metadata): Writable {
  const aws = runtimeGlobal();
  if (aws) return aws.HttpResponseStream.from(stream, meta);
  stream.write(JSON.stringify(meta));
  stream.write(PRELUDE_END);
  return stream;
}

/** A REST API (payload v1) proxy event as a web Request. */
export function requestOf(event: APIGatewayProxyEvent): Request {
  const headers = new Headers();
  for (const [k, v] of Object.entries(event.headers ?? {})) if (v !== undefined) headers.set(k, v);
  for (const [k, vs] of Object.entries(event.multiValueHeaders ?? {})) if (vs && !headers.has(k)) headers.set(k, vs.join(","));
  const query = new URLSearchParams();
  const multi = event.multiValueQueryStringParameters;
  if (multi) for (const [k, vs] of Object.entries(multi)) for (const v of vs ?? []) query.append(k, v);
  else for (const [k, v] of Object.entries(event.queryStringParameters ?? {})) if (v !== undefined) query.append(k, v);
  const qs = query.toString();
  const url = `https://${headers.get("host") ?? "localhost"}${event.path}${qs ? `?${qs}` : ""}`;
  const body = event.body && !["GET", "HEAD"].includes(event.httpMethod) ? (event.isBase64Encoded ? Buffer.from(event.body, "base64") : event.body) : undefined;
  return new Request(url, { method: event.httpMethod, headers, ...(body !== undefined ? { body } : {}) });
}

/** Serves `fetch` as a streaming Lambda: status and headers first, then the body as it comes. */
export function streamingHandler(fetch: (req: Request) => Promise<Response>): StreamingHandler {
  const fn: StreamingHandler = async (event, responseStream) => {
    let res: Response;
    try {
      res = await fetch(requestOf(event));
    } catch {
      res = Response.json({ error: { code: "validation", message: "malformed request" } }, { status: 400 });
    }
    const headers: Record<string, string> = {};
    const cookies: string[] = [];
    res.headers.forEach((v, k) => (k === "set-cookie" ? cookies.push(v) : (headers[k] = v)));
    const out = withMetadata(responseStream, { statusCode: res.status, headers, cookies });
    const reader = res.body?.getReader();
    // The client went away (or API Gateway closed the stream): cancel the body, which ends
    // the SSE route and lets its follower go.
    const gone = () => void reader?.cancel().catch(() => {});
    out.once("close", gone);
    out.once("error", gone);
    try {
      for (;;) {
        const chunk = await reader?.read();
        if (!chunk || chunk.done) break;
        if (!out.write(chunk.value)) await Promise.race([once(out, "drain"), once(out, "close")]);
        if (out.destroyed) break;
      }
    } catch {
      // the body was cancelled
    } finally {
      if (!out.destroyed) out.end();
    }
  };
  const aws = runtimeGlobal();
  return aws ? aws.streamifyResponse(fn) : Object.assign(fn, { [STREAMING]: true as const });
}

interface Live {
  rt: Runtime;
  watch: LogWatch;
  runsWatch: RunsWatch;
  fetch: (req: Request) => Promise<Response>;
}

let live: Live | undefined;

/** The stream app over this container's runtime: one log watch and one runs watch per process. */
export function liveFor(rt: Runtime): Live {
  if (live?.rt === rt) return live;
  if (live) {
    void live.watch.close();
    live.runsWatch.close();
  }
  const tcp = rt.redis instanceof TcpRedis ? rt.redis : undefined;
  const watch = createLogWatch({ source: rt.runs, keys: rt.keys, ...(tcp ? { blocking: tcp.client, cluster: tcp.cluster } : {}) });
  const runsWatch = createRunsWatch({ source: rt.engine });
  const app = createStreamApp({ auth: rt.config.auth, tokens: rt.tokens, runs: rt.runs, watch, runsWatch });
  live = { rt, watch, runsWatch, fetch: async (req) => app.fetch(req) };
  return live;
}

/** Stops the process's readers (the emulator, when it stops). */
export async function closeLive(): Promise<void> {
  const l = live;
  live = undefined;
  l?.runsWatch.close();
  await l?.watch.close();
}

/** functions/stream.ts: the stream API as a response-streaming Lambda. */
export function streamHandler(): StreamingHandler {
  return streamingHandler((req) => liveFor(getRuntime()).fetch(req));
}
