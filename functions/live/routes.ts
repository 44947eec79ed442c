import { createRoute, z } from "@hono/zod-openapi";
import { cors } from "hono/cors";
import { streamSSE, type SSEStreamingApi } from "hono/streaming";
import { ValidationError, type EventType, type ReadThrough, type RunEvent } from "@weft/core";
import { authMiddleware, type AuthConfig } from "../http/auth.js";
import { errorResponse, errorResponses } from "../http/errors.js";
import { subApp, type WeftApp } from "../http/routes/deps.js";
import { DagParams } from "../http/schemas.js";
import { serve } from "../http/serve.js";
import { CORS, STREAM_PATHS } from "../../infra/routes.js";
import type { LogWatch } from "./log-watch.js";
import type { RunsWatch } from "./runs-watch.js";
import { MAX_WATCH_TTL_SECONDS, type WatchTokens } from "./watch-token.js";

/** The live routes: a run's event log and the tenant's run changes as Server-Sent Events. */

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });
const sse = (description: string) => ({ description, content: { "text/event-stream": { schema: z.string() } } });

const RUN_ENDS: ReadonlySet<EventType> = new Set(["run.succeeded", "run.failed", "run.cancelled"]);

const WatchTokenSchema = z
  .object({
    token: z.string(),
    expiresAt: z.number().int(),
    streamUrl: z.string().openapi({ description: "The run's event stream with this token (relative when the stream is served by this API)" }),
  })
  .openapi("WatchToken");

/** POST /v1/dags/{dagId}/watch-token on the main API (tenant key required: tokens do not mint tokens). */
export function watchTokenRoutes(d: { runs: ReadThrough; tokens: WatchTokens; streamBaseUrl?: string }): WeftApp {
  const app = subApp();
  serve(
    app,
    {
      method: "post",
      path: "/v1/dags/{dagId}/watch-token",
      summary: "A short-lived, read-only token for one run, for `?token=` where no header can be sent (EventSource)",
      params: DagParams,
      body: {
        required: false,
        schema: z.object({ ttlSeconds: z.number().int().min(1).max(MAX_WATCH_TTL_SECONDS).optional().openapi({ description: "Default 600" }) }).openapi("WatchTokenRequest"),
        description: "Optional; an empty body (whatever its Content-Type) gives the default lifetime",
      },
      responses: { 200: json(WatchTokenSchema, "The token"), ...errorResponses(404) },
    },
    async (c, { params: { dagId }, body: { ttlSeconds } }) => {
      if (c.req.query("token") !== undefined && !c.req.header("authorization")) throw new ValidationError("a watch token cannot mint tokens", "token");
      await d.runs.events(c.var.tenant, dagId, { after: 0, limit: 1 }); // 404 for a run this tenant does not have
      const { token, expiresAt } = d.tokens.issue(c.var.tenant, dagId, ttlSeconds);
      const streamUrl = `${d.streamBaseUrl ?? ""}${STREAM_PATHS.run.replace("{dagId}", dagId)}?token=${encodeURIComponent(token)}`;
      return c.json({ token, expiresAt, streamUrl }, 200);
    },
  );
  return app;
}

const STREAM_SERVED_BY = "Served by the Stream function, which streams the response: deployed, at the REST API whose base URL a watch token's `streamUrl` carries; locally, at the same origin as the rest of the API.";

const runStream = createRoute({
  method: "get",
  path: STREAM_PATHS.run,
  description: STREAM_SERVED_BY,
  summary: "The run's event log as Server-Sent Events: `id:` is the seq; resumes after `Last-Event-ID` (or `?after=`); ends with `event: end` once the run has ended",
  request: {
    params: DagParams,
    query: z.object({
      after: z.coerce.number().int().min(0).optional().openapi({ description: "Send events after this seq (0 = from the start)" }),
      token: z.string().optional().openapi({ description: "A watch token instead of the Authorization header" }),
    }),
    headers: z.object({
      "last-event-id": z.coerce.number().int().min(0).optional().openapi({ description: "Set by EventSource on reconnect; wins over `after`" }),
    }),
  },
  responses: { 200: sse("One `data:` line per event (a RunEvent), `: ping` heartbeats, then `event: end`"), ...errorResponses(400, 401, 404, 422, 503) },
});

const tenantStream = createRoute({
  method: "get",
  path: STREAM_PATHS.tenant,
  description: STREAM_SERVED_BY,
  summary: "The tenant's hot runs as they appear and change (status, counts), as Server-Sent Events: first every current run, then each change",
  responses: { 200: sse("One `data:` line per run summary that appeared or changed"), ...errorResponses(401, 503) },
});

/**
 * Documents the stream routes in another app's /openapi.json (the main API's), from the same
 * definitions the stream app serves. They are served by the Stream function (deployed: the REST
 * API whose base URL a watch token's `streamUrl` carries; locally the same gateway as the API).
 */
export function documentStreamRoutes(app: WeftApp): void {
  for (const route of [runStream, tenantStream]) app.openAPIRegistry.registerPath(route);
}

export interface StreamDeps {
  auth: AuthConfig;
  tokens?: WatchTokens;
  runs: ReadThrough;
  watch: LogWatch;
  runsWatch: RunsWatch;
  /** A `: ping` comment this often keeps proxies from closing an idle stream. Default 15 s. */
  heartbeatMs?: number;
  /** A stream closes after this long (the client resumes by Last-Event-ID): Lambda's 15 min limit. Default 14 min. */
  maxMs?: number;
}

const frame = (e: RunEvent) => `id: ${e.seq}\ndata: ${JSON.stringify(e)}\n\n`;

/** The stream API: served by functions/stream.ts (a response-streaming Lambda) and by the emulator. */
export function createStreamApp(d: StreamDeps): WeftApp {
  const app = subApp();
  app.onError((err, c) => errorResponse(c, err));
  app.notFound((c) => c.json({ error: { code: "not_found", message: `no route ${c.req.method} ${c.req.path}` } }, 404));
  // The dashboard's origin is not the Stream API's (infra/routes.ts CORS): preflights are
  // answered here, before auth, and every reply (errors too) says any origin may read it.
  app.use(
    "*",
    cors({ origin: "*", allowMethods: ["GET"], allowHeaders: [...CORS.allowHeaders], exposeHeaders: [...CORS.exposeHeaders], maxAge: CORS.maxAgeSeconds }),
  );
  app.use("/v1/*", authMiddleware(d.auth, d.tokens));
  const heartbeatMs = d.heartbeatMs ?? 15_000;
  const maxMs = d.maxMs ?? 14 * 60_000;

  /** Heartbeats, the time limit and the client going away, around one stream's body. */
  const lifetime = (stream: SSEStreamingApi, start: (finish: () => void) => () => void) =>
    new Promise<void>((resolve) => {
      let stop = () => {};
      const finish = () => {
        clearInterval(ping);
        clearTimeout(limit);
        stop();
        resolve();
      };
      const ping = setInterval(() => void stream.write(": ping\n\n").catch(finish), heartbeatMs);
      const limit = setTimeout(finish, maxMs);
      stream.onAbort(finish);
      stop = start(finish);
    });

  app.openapi(runStream, async (c) => {
    const tenant = c.var.tenant;
    const { dagId } = c.req.valid("param");
    const after = c.req.valid("header")["last-event-id"] ?? c.req.valid("query").after ?? 0;
    // Before the first byte, so a missing run is a 404 and not an empty stream: the event at
    // `after` (was the run over?) and whether anything follows it, in one read.
    const probe = await d.runs.events(tenant, dagId, { after: Math.max(0, after - 1), limit: 2 });
    if (after > 0 && !probe.events.some((e) => e.seq === after)) throw new ValidationError(`after ${after} is past the end of run ${dagId}'s log`, "after");
    const endedAt = probe.events.find((e) => e.seq === after && RUN_ENDS.has(e.type));
    const more = probe.events.some((e) => e.seq > after);
    return streamSSE(c, async (stream) => {
      await stream.write("retry: 1000\n\n");
      if (endedAt && !more) {
        await stream.writeSSE({ event: "end", data: JSON.stringify({ status: endedAt.type.slice(4), seq: after }) });
        return;
      }
      await lifetime(stream, (finish) => {
        let writing = Promise.resolve();
        const follower = d.watch.follow(
          tenant,
          dagId,
          after,
          (events) => {
            const end = events.find((e) => RUN_ENDS.has(e.type));
            const sent = end ? events.slice(0, events.indexOf(end) + 1) : events;
            let text = sent.map(frame).join("");
            if (end) text += `event: end\ndata: ${JSON.stringify({ status: end.type.slice(4), seq: end.seq })}\n\n`;
            writing = writing.then(() => stream.write(text)).then(() => (end ? finish() : undefined), finish);
          },
          // Redis went away: close, and the client resumes where it stopped.
          finish,
        );
        return () => follower.close();
      });
    });
  });

  app.openapi(tenantStream, async (c) => {
    const tenant = c.var.tenant;
    return streamSSE(c, async (stream) => {
      await stream.write("retry: 1000\n\n");
      await lifetime(stream, (finish) => {
        let writing = Promise.resolve();
        return d.runsWatch.follow(
          tenant,
          (runs) => {
            const text = runs.map((r) => `data: ${JSON.stringify(r)}\n\n`).join("");
            writing = writing.then(() => void stream.write(text)).catch(finish);
          },
          finish,
        );
      });
    });
  });
  return app;
}
