import { functionSpecs, LUA_COPY, RUNTIME_INSTALLS, type FunctionSpec } from "../functions.js";
import { API_HANDLER, CORS, routeKey, routes, STREAM_HANDLER } from "../routes.js";
import { schedules } from "../schedules.js";
import { deploySettings, type DeploySettings } from "../settings.js";
import { subscriptions } from "../subscriptions.js";
import { createRedisAccess, type RedisAccess } from "./redis.js";
import { createArchiveTable } from "./table.js";
import { createStreamApi, type StreamApi } from "./stream.js";
import { createDashboardSite } from "./dashboard.js";
import { createValuesBucket } from "./values.js";
import { createAlarms } from "./alarms.js";
import { metricsNamespace } from "../alarms.js";

export interface Weft {
  settings: DeploySettings;
  api: sst.aws.ApiGatewayV2;
  /** The REST API that streams the live routes (infra/stack/stream.ts). */
  stream: StreamApi;
  bus: sst.aws.Bus;
  table: sst.aws.Dynamo;
  /** The web dashboard, a static site pointed at the API (infra/stack/dashboard.ts). */
  dashboard: sst.aws.StaticSite;
  /** Large node values (infra/stack/values.ts). */
  values: sst.aws.Bucket;
  redis: RedisAccess;
  apiKeys: sst.Secret;
  /** Where the CloudWatch alarms (infra/alarms.ts) notify. */
  alarms: sst.aws.SnsTopic;
  /** By handler reference, e.g. `functions/node.handler`. */
  functions: Map<string, sst.aws.Function>;
  outputs: Record<string, $util.Input<string>>;
}

/** Builds the whole app: the resources, one function per handler, and their triggers. */
export function createWeft(env: Record<string, string | undefined>): Weft {
  const settings = deploySettings(env, $app.stage);

  // "key:tenant,key:tenant": the functions map each bearer key to its tenant.
  const apiKeys = new sst.Secret("WeftApiKeys");
  // Seals the signal URLs of waits (32+ characters); rotating it voids the URLs already sent.
  const signingSecret = new sst.Secret("WeftSigningSecret");
  const table = createArchiveTable();
  const values = createValuesBucket();
  const bus = new sst.aws.Bus("Events");
  const redis = createRedisAccess(settings.redis);
  // The dashboard (another origin) calls it from the browser: CORS from infra/routes.ts, preflights answered by API Gateway.
  const api = new sst.aws.ApiGatewayV2("Api", {
    cors: {
      allowOrigins: [...CORS.allowOrigins],
      allowMethods: [...CORS.allowMethods],
      allowHeaders: [...CORS.allowHeaders],
      exposeHeaders: [...CORS.exposeHeaders],
      maxAge: `${CORS.maxAgeSeconds} seconds`,
    },
  });

  const engine = {
    link: [table, values, bus, apiKeys, signingSecret, ...redis.link],
    environment: {
      WEFT_SHARDS: String(settings.shards),
      WEFT_API_KEYS: apiKeys.value,
      WEFT_SIGNING_SECRET: signingSecret.value,
      // Signal URLs in NodeWaiting events and the log point at the API.
      WEFT_PUBLIC_URL: api.url,
      WEFT_EVENT_BUS: bus.name,
      WEFT_TABLE: table.name,
      WEFT_VALUES_BUCKET: values.name,
      // EMF metrics (functions/metrics) under this stage's namespace, which the alarms read.
      POWERTOOLS_METRICS_NAMESPACE: metricsNamespace($app.stage),
      ...redis.environment,
    },
    ...(redis.vpc ? { vpc: redis.vpc } : {}),
  };
  // The example's agents use the deterministic fake model unless told to call OpenAI (or a compatible server).
  const openAiKey = settings.exampleAgents && settings.exampleModel === "openai" ? new sst.Secret("OpenAiApiKey") : undefined;
  const agent = {
    link: [api, apiKeys, ...(openAiKey ? [openAiKey] : [])],
    environment: {
      WEFT_API_URL: api.url,
      // An agent authenticates like any worker, with the first configured key.
      WEFT_API_KEY: apiKeys.value.apply((keys) => keys.split(",")[0]?.split(":")[0]?.trim() ?? ""),
      WEFT_MODEL: settings.exampleModel,
      ...(openAiKey ? { OPENAI_API_KEY: openAiKey.value } : {}),
      ...(openAiKey && env.WEFT_MODEL_NAME ? { WEFT_MODEL_NAME: env.WEFT_MODEL_NAME } : {}),
      ...(openAiKey && env.OPENAI_BASE_URL ? { OPENAI_BASE_URL: env.OPENAI_BASE_URL } : {}),
    },
  };

  const functions = new Map<string, sst.aws.Function>();
  const specs = functionSpecs(settings);
  // The Stream function and its REST API first: the API function hands out the stream's URL.
  const streamSpec = specs.find((s) => s.handler === STREAM_HANDLER)!;
  const streamFn = new sst.aws.Function(streamSpec.name, { ...baseArgs(streamSpec), ...engine });
  functions.set(STREAM_HANDLER, streamFn);
  const stream = createStreamApi(streamFn);
  for (const spec of specs) {
    if (spec.handler === STREAM_HANDLER) continue;
    const role =
      spec.role === "agent"
        ? agent
        : spec.handler === API_HANDLER
          ? { ...engine, environment: { ...engine.environment, WEFT_STREAM_URL: stream.url } }
          : engine;
    functions.set(spec.handler, new sst.aws.Function(spec.name, { ...baseArgs(spec), ...role }));
  }
  const fn = (handler: string) => {
    const f = functions.get(handler);
    if (!f) throw new Error(`no function for ${handler}`);
    return f;
  };

  for (const r of routes) api.route(routeKey(r), fn(r.handler).arn);
  for (const s of schedules) new sst.aws.Cron(s.name, { schedule: s.schedule, function: fn(s.handler).arn });
  for (const s of subscriptions) {
    if (s.example && !settings.exampleAgents) continue;
    bus.subscribe(s.name, fn(s.handler).arn, { pattern: { ...s.pattern } });
  }

  const dashboard = createDashboardSite(api, stream);
  const alarms = createAlarms($app.stage).topic;

  return {
    settings,
    api,
    stream,
    dashboard,
    bus,
    table,
    values,
    redis,
    apiKeys,
    alarms,
    functions,
    outputs: { api: api.url, stream: stream.url, dashboard: dashboard.url, bus: bus.name, table: table.name, values: values.name, redis: settings.redis, alarms: alarms.arn },
  };
}

function baseArgs(spec: FunctionSpec): sst.aws.FunctionArgs {
  return {
    handler: spec.handler,
    runtime: "nodejs20.x",
    timeout: spec.timeout,
    // The engine loads its Lua scripts from ./lua; an agent talks HTTP (@weft/client imports
    // only @weft/core/sdk: errors and types), so its bundle needs nothing next to it.
    ...(spec.role === "engine" ? { copyFiles: [{ ...LUA_COPY }] } : {}),
    // Loaded at run time, only when WEFT_TRACING is on (functions/tracing.ts requires it on
    // first use, so esbuild cannot see it): installed next to the bundle instead.
    ...(spec.role === "engine" ? { nodejs: { install: [...RUNTIME_INSTALLS] } } : {}),
  };
}
