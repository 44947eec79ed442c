import { z } from "@hono/zod-openapi";
import type { ColdStore } from "@weft/core";
import { codeVersion, DEFAULT_HEALTH_TIMEOUT_MS, probe, type Signals } from "@weft/core/signals";
import { RETRY_AFTER_SECONDS } from "../errors.js";
import { errorFields, logger } from "../../log.js";
import { serve } from "../serve.js";
import { json } from "../schemas.js";
import { subApp, type WeftApp } from "./deps.js";

/**
 * GET /health, without a key (a load balancer, an uptime check, an orchestrator's probe):
 * every Redis shard answers a script (its outbox backlog comes with the answer: XLEN, O(1))
 * and the cold store answers a read, each within a bound. 200 when all do; else 503 with
 * Retry-After and `failed` naming each dependency that did not. What went wrong in detail
 * is logged, not answered: the route is open, and error messages name hosts.
 */

const Status = z.enum(["ok", "unavailable"]);
const Reason = z.enum(["timeout", "error"]).openapi({ description: "No answer within the probe's time, or an error" });

const HealthSchema = z
  .object({
    status: Status,
    version: z.string().openapi({ description: "Weft's engine version (@weft/core)" }),
    scripts: z.string().openapi({ description: "The Redis Functions library of this version's scripts, `weft_<hash of the code>`" }),
    failed: z.array(z.string()).openapi({ description: "What did not answer: `redis` (then `redis.shards` says which), `coldStore`; empty when healthy" }),
    redis: z.object({
      status: Status,
      outbox: z.number().int().openapi({ description: "Outbox entries not yet relayed to the bus, over the shards that answered" }),
      shards: z.array(
        z.object({
          shard: z.number().int(),
          status: Status,
          reason: Reason.optional(),
          outbox: z.number().int().optional(),
          ms: z.number().int().openapi({ description: "The probe's round trip" }),
        }),
      ),
    }),
    coldStore: z.object({
      status: z.enum(["ok", "unavailable", "none"]).openapi({ description: "`none`: no cold store configured (WEFT_TABLE unset)" }),
      reason: Reason.optional(),
      ms: z.number().int().optional(),
    }),
  })
  .openapi("Health");

export type Health = z.infer<typeof HealthSchema>;

export interface HealthDeps {
  signals: Signals;
  cold?: ColdStore;
  /** Bound of each probe, ms (default DEFAULT_HEALTH_TIMEOUT_MS). */
  timeoutMs?: number;
}

/** A read of a run nobody has (ids no API key's tenant uses): one GetItem on the table. */
const PROBE = { tenant: "_health", dagId: "_health" };

async function probeCold(cold: ColdStore | undefined, timeoutMs: number): Promise<Health["coldStore"]> {
  if (!cold) return { status: "none" };
  const p = await probe(() => cold.getRun(PROBE.tenant, PROBE.dagId), timeoutMs);
  if (p.ok) return { status: "ok", ms: p.ms };
  if (p.reason === "error") logger.warn("health: cold store probe failed", errorFields(p.err));
  return { status: "unavailable", reason: p.reason, ms: p.ms };
}

export function healthRoutes({ signals, cold, timeoutMs = DEFAULT_HEALTH_TIMEOUT_MS }: HealthDeps): WeftApp {
  const app = subApp();
  serve(
    app,
    {
      method: "get",
      path: "/health",
      summary: "Is this deployment able to serve: every Redis shard and the cold store answer (no key needed)",
      keyless: true,
      responses: {
        200: json(HealthSchema, "Every dependency answered"),
        503: json(HealthSchema, "A dependency did not answer (`failed` names it); Retry-After says when to ask again"),
      },
    },
    async (c) => {
      const [redis, coldStore] = await Promise.all([
        signals.redisHealth({ timeoutMs, onError: (shard, err) => logger.warn("health: redis probe failed", { shard, ...errorFields(err) }) }),
        probeCold(cold, timeoutMs),
      ]);
      const failed: string[] = [];
      if (!redis.ok) failed.push("redis");
      if (coldStore.status === "unavailable") failed.push("coldStore");
      const body: Health = {
        status: failed.length ? "unavailable" : "ok",
        ...codeVersion(),
        failed,
        redis: {
          status: redis.ok ? "ok" : "unavailable",
          outbox: redis.outbox,
          shards: redis.shards.map(({ ok, ...s }) => ({ ...s, status: ok ? ("ok" as const) : ("unavailable" as const) })),
        },
        coldStore,
      };
      if (failed.length) {
        logger.warn("health: unavailable", { failed });
        return c.json(body, 503, { "retry-after": String(RETRY_AFTER_SECONDS), "cache-control": "no-store" });
      }
      return c.json(body, 200, { "cache-control": "no-store" });
    },
  );
  return app;
}
