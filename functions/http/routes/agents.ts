import { z } from "@hono/zod-openapi";
import { LIMITS } from "@weft/core/checks";
import { DEFAULT_EXPIRING_WITHIN_MS, type Signals } from "@weft/core/signals";
import { serve } from "../serve.js";
import { json, PathId, QueryInt } from "../schemas.js";
import { subApp, type WeftApp } from "./deps.js";

/**
 * Scaling signals per agent of the key's tenant (docs/architecture.md, "Scaling signals"):
 * what a KEDA scaler, an HPA on external metrics or ECS target tracking reads to size an
 * agent's pull workers. Summed over every shard, O(log n) per agent: never a scan.
 */

const AgentSignalSchema = z
  .object({
    agent: z.string(),
    ready: z.number().int().openapi({ description: "Nodes ready to be claimed now (not a paused run's, not one waiting for its retry)" }),
    oldestReadyAt: z.number().int().nullable().openapi({ description: "Epoch ms the oldest ready node became ready (or was given back); null when none is ready" }),
    oldestReadyAgeMs: z.number().int().openapi({ description: "How long the oldest ready node has waited, ms; 0 when none is ready" }),
    running: z.number().int().openapi({ description: "Attempts running under a lease" }),
    leasesExpiringSoon: z
      .number()
      .int()
      .openapi({ description: "Running attempts whose lease expires within `within` ms (or has expired and awaits the reconcile): workers likely lost" }),
  })
  .openapi("AgentSignal");

const AgentSignalsSchema = z
  .object({
    at: z.number().int().openapi({ description: "Epoch ms the counts were read (Redis time)" }),
    withinMs: z.number().int().openapi({ description: "The window of leasesExpiringSoon" }),
    agents: z.array(AgentSignalSchema),
  })
  .openapi("AgentSignals");

const Within = z.object({
  within: QueryInt(0, LIMITS.maxDurationMs)
    .optional()
    .openapi({ description: `Window of leasesExpiringSoon in ms (default ${DEFAULT_EXPIRING_WITHIN_MS})` }),
});

const noStore = { "cache-control": "no-store" };

export function agentRoutes({ signals }: { signals: Signals }): WeftApp {
  const app = subApp();
  serve(
    app,
    {
      method: "get",
      path: "/v1/agents",
      summary: "Scaling signals of every agent with ready or running work: ready count, oldest ready age, running, leases expiring soon",
      query: Within,
      responses: { 200: json(AgentSignalsSchema, "One entry per agent with work, by name") },
    },
    async (c, { query: { within } }) => c.json(await signals.agents(c.var.tenant, within === undefined ? {} : { withinMs: within }), 200, noStore),
  );
  serve(
    app,
    {
      method: "get",
      path: "/v1/agents/{agent}",
      summary: "Scaling signals of one agent (zeros when it has no work): what an autoscaler polls",
      params: z.object({ agent: PathId }),
      query: Within,
      responses: { 200: json(AgentSignalSchema.extend({ at: z.number().int(), withinMs: z.number().int() }).openapi("AgentSignalAt"), "The agent's counts") },
    },
    async (c, { params: { agent }, query: { within } }) => {
      const r = await signals.agents(c.var.tenant, { agent, ...(within === undefined ? {} : { withinMs: within }) });
      return c.json({ ...r.agents[0]!, at: r.at, withinMs: r.withinMs }, 200, noStore);
    },
  );
  return app;
}
