import { routes, streamRoutes } from "./routes.js";
import { schedules } from "./schedules.js";
import { subscriptions } from "./subscriptions.js";

/**
 * Every Lambda function Weft deploys, derived from the routes, subscriptions and
 * schedules: one function per handler, shared by all its triggers (every HTTP route goes to
 * functions/api.handler: one function, one cold start, one Redis connection per container).
 */
export type FunctionRole =
  /** Runs the engine: gets Redis, the table, the bus and the API keys. */
  | "engine"
  /** An example's agents: a client of the public API, given only its URL and a key. */
  | "agent";

export interface FunctionSpec {
  /** Logical name in SST, from the handler path: `functions/node.handler` -> `Node`, `examples/research-pipeline/push.handler` -> `ResearchPipelinePush`. */
  name: string;
  handler: string;
  role: FunctionRole;
  timeout: `${number} seconds` | `${number} minutes`;
}

/** Packages an engine function requires at run time rather than imports (not bundled: installed beside the bundle). */
export const RUNTIME_INSTALLS = ["@opentelemetry/api"] as const;

/** The Lua scripts the Redis adapter loads from `./lua` next to the bundle. */
export const LUA_COPY = { from: "packages/core/src/redis/lua", to: "lua" } as const;

/** Functions with no trigger of their own, invoked on demand. */
export const standaloneHandlers: readonly string[] = [
  // Relays the outbox of every shard now (an operator's or a script's "flush events").
  "functions/relay.handler",
];

const TIMEOUTS: Record<string, FunctionSpec["timeout"]> = {
  // Shorter than the schedule period, so two reconciles never overlap.
  "functions/reconcile.handler": "50 seconds",
  "functions/relay.handler": "60 seconds",
  // A 5,000-node run with large outputs is several MB to compress and write.
  "functions/archive.handler": "5 minutes",
  // Six agents behind one function; a real model's draft can take a minute or two.
  "examples/research-pipeline/push.handler": "3 minutes",
  // Behind the REST API's streaming integration: a stream lasts up to Lambda's 15 minutes.
  "functions/stream.handler": "15 minutes",
};
// API Gateway gives up on an integration after 30 s.
const HTTP_TIMEOUT = "29 seconds";

/** Names that the path rule would give to something else: `Api` is the API Gateway's own name in SST. */
const NAMES: Record<string, string> = { "functions/api.handler": "HttpApi" };

export function functionName(handler: string): string {
  const named = NAMES[handler];
  if (named) return named;
  const dot = handler.lastIndexOf(".");
  const file = dot < 0 ? handler : handler.slice(0, dot);
  return file
    .replace(/^(functions|examples)\//, "")
    .split(/[/\-_]/)
    .filter(Boolean)
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join("");
}

export function functionSpecs(opts: { exampleAgents: boolean }): FunctionSpec[] {
  const specs = new Map<string, FunctionSpec>();
  const add = (handler: string, role: FunctionRole) => {
    if (specs.has(handler)) return;
    specs.set(handler, { name: functionName(handler), handler, role, timeout: TIMEOUTS[handler] ?? HTTP_TIMEOUT });
  };
  for (const r of routes) add(r.handler, "engine");
  for (const r of streamRoutes) add(r.handler, "engine");
  for (const s of schedules) add(s.handler, "engine");
  for (const s of subscriptions) if (!s.example || opts.exampleAgents) add(s.handler, s.example ? "agent" : "engine");
  for (const h of standaloneHandlers) add(h, "engine");
  const names = new Set<string>();
  for (const s of specs.values()) {
    if (names.has(s.name)) throw new Error(`two handlers map to the function name ${s.name}`);
    names.add(s.name);
  }
  return [...specs.values()];
}
