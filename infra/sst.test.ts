import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_RETENTION_DAYS, TABLE } from "../packages/core/src/archive/table.js";
import { ValidationError } from "../packages/core/src/errors.js";
import { functionName, functionSpecs } from "./functions.js";
import { CORS, routeKey, routes, streamRoutes } from "./routes.js";
import { schedules } from "./schedules.js";
import { deploySettings } from "./settings.js";
import { ensurePlatform, evaluate, ROOT, stopHarness, type Evaluation, type MockResource } from "./sst-harness.js";
import { agents as exampleAgents } from "../examples/research-pipeline/agents.js";
import { EXAMPLE_AGENTS, EXAMPLE_PUSH_HANDLER, subscriptions } from "./subscriptions.js";
import { DASHBOARD_DIR, ensureDashboardBuilt } from "../functions/local/dashboard.js";
import { alarms, metricsNamespace } from "./alarms.js";
import { METRICS } from "../functions/metrics/definitions.js";

// Handlers infra already deploys whose module another milestone is still writing (M4's
// cold-storage flush). Their functions are in the graph; only the source check waits.
const PENDING_HANDLERS = new Set(["functions/archive.handler"]);

describe("infra data (shared with the local emulator)", () => {
  it("declares each route once, API Gateway style, with a handler module that exists", () => {
    const keys = routes.map(routeKey);
    expect(new Set(keys).size).toBe(keys.length);
    for (const r of routes) {
      if (r.path !== "$default") expect(r.path).toMatch(/^(\/[A-Za-z0-9._-]+|\/\{[A-Za-z]+\}|\/\{proxy\+\})+$/);
      expect(existsSync(join(ROOT, `${r.handler.replace(/\.handler$/, "")}.ts`)), r.handler).toBe(true);
    }
  });

  it("gives every deployed handler a source module (except the ones still being written)", () => {
    for (const spec of functionSpecs({ exampleAgents: true })) {
      if (PENDING_HANDLERS.has(spec.handler)) continue;
      expect(existsSync(join(ROOT, `${spec.handler.replace(/\.[^.]+$/, "")}.ts`)), spec.handler).toBe(true);
    }
  });

  it("makes one function per handler, shared by all of its triggers", () => {
    const specs = functionSpecs({ exampleAgents: true });
    expect(specs.map((s) => s.name).sort()).toEqual(
      ["ResearchPipelinePush", "Archive", "HttpApi", "Reconcile", "Relay", "Stream"].sort(),
    );
    expect(specs.find((s) => s.name === "ResearchPipelinePush")).toMatchObject({ role: "agent", handler: EXAMPLE_PUSH_HANDLER, timeout: "3 minutes" });
    expect(specs.filter((s) => s.role === "agent")).toHaveLength(1);
    expect(functionSpecs({ exampleAgents: false }).map((s) => s.name)).not.toContain("ResearchPipelinePush");
    expect(functionName("examples/research-pipeline/push.handler")).toBe("ResearchPipelinePush");
  });

  it("routes every agent of the example pipeline, and only those, to its push-mode Lambda", () => {
    expect([...EXAMPLE_AGENTS].sort()).toEqual(Object.keys(exampleAgents).sort());
    const routed = subscriptions.filter((s) => s.example);
    expect(routed.map((s) => s.pattern.detail?.agent)).toEqual(EXAMPLE_AGENTS.map((a) => [a]));
    for (const s of routed) expect(s).toMatchObject({ handler: EXAMPLE_PUSH_HANDLER, pattern: { detailType: ["NodeReady"] } });
    expect(routed.find((s) => s.pattern.detail?.agent?.[0] === "fact-checker")?.name).toBe("FactCheckerAgent");
  });

  it("defaults Redis to ElastiCache on production and Upstash elsewhere, and rejects unknown switches by name", () => {
    expect(deploySettings({}, "production")).toEqual({ redis: "elasticache", shards: 4, exampleAgents: false, exampleModel: "fake" });
    expect(deploySettings({}, "dev")).toEqual({ redis: "upstash", shards: 1, exampleAgents: true, exampleModel: "fake" });
    expect(deploySettings({ WEFT_REDIS: "ElastiCache", WEFT_SHARDS: "8", WEFT_EXAMPLE_AGENTS: "0", WEFT_EXAMPLE_MODEL: "OpenAI" }, "dev")).toEqual({
      redis: "elasticache",
      shards: 8,
      exampleAgents: false,
      exampleModel: "openai",
    });
    const field = (env: Record<string, string>) => {
      try {
        deploySettings(env, "dev");
      } catch (e) {
        expect(e).toBeInstanceOf(ValidationError);
        return (e as ValidationError).field;
      }
      return undefined;
    };
    expect(field({ WEFT_REDIS: "memcached" })).toBe("WEFT_REDIS");
    expect(field({ WEFT_SHARDS: "0" })).toBe("WEFT_SHARDS");
    expect(field({ WEFT_SHARDS: "2.5" })).toBe("WEFT_SHARDS");
    expect(field({ WEFT_EXAMPLE_AGENTS: "maybe" })).toBe("WEFT_EXAMPLE_AGENTS");
    expect(field({ WEFT_EXAMPLE_MODEL: "gpt" })).toBe("WEFT_EXAMPLE_MODEL");
  });
});

// ---- the resource graph, evaluated from sst.config.ts with SST's real components under Pulumi mocks

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Pulumi marks secret values with a signature wrapper; the tests compare plain values. */
function plain(v: any): any {
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") {
    if (SECRET_SIG in v) return plain(v.value);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

class Graph {
  constructor(readonly ev: Evaluation) {}
  of(type: string): MockResource[] {
    return this.ev.resources.filter((r) => r.type === type);
  }
  /** Lambda functions by SST name (`NodeFunction` -> `Node`). */
  get lambdas(): Map<string, MockResource> {
    return new Map(this.of("aws:lambda/function:Function").map((r) => [r.name.replace(/Function$/, ""), r]));
  }
  /** Which SST function an ARN belongs to. */
  fnOfArn(arn: unknown): string | undefined {
    // Functions whose environment holds secrets have secret outputs, ARN included.
    for (const [name, r] of this.lambdas) if (r.state.arn === plain(arn)) return name;
    return undefined;
  }
  env(fn: string): Record<string, string> {
    return plain(this.lambdas.get(fn)?.inputs.environment)?.variables ?? {};
  }
  /** Route key -> the function its integration invokes. */
  routeTargets(): Map<string, string | undefined> {
    const integrations = new Map(this.of("aws:apigatewayv2/integration:Integration").map((i) => [i.id, i]));
    return new Map(
      this.of("aws:apigatewayv2/route:Route").map((r) => {
        const integration = integrations.get(String(r.inputs.target).replace(/^integrations\//, ""));
        return [r.inputs.routeKey, this.fnOfArn(integration?.inputs.integrationUri)];
      }),
    );
  }
  /** Rules with their targets' functions. */
  rules(): { rule: MockResource; targets: (string | undefined)[] }[] {
    const targets = this.of("aws:cloudwatch/eventTarget:EventTarget");
    return this.of("aws:cloudwatch/eventRule:EventRule").map((rule) => ({
      rule,
      targets: targets.filter((t) => plain(t.inputs.rule) === rule.state.name).map((t) => this.fnOfArn(t.inputs.arn)),
    }));
  }
}

const ENGINE_FUNCTIONS = ["HttpApi", "Reconcile", "Relay", "Archive", "Stream"];

// The static site's component reads the dashboard's build output (Vite's dist/) as it plans the upload.
beforeAll(async () => {
  ensurePlatform();
  await ensureDashboardBuilt(() => {});
}, 300_000);
afterAll(() => stopHarness());

describe("SST resource graph: ElastiCache, example agents on (calling OpenAI)", () => {
  let g: Graph;
  beforeAll(async () => {
    g = new Graph(
      await evaluate(
        {
          WEFT_REDIS: "elasticache",
          WEFT_SHARDS: "4",
          WEFT_EXAMPLE_AGENTS: undefined,
          WEFT_EXAMPLE_MODEL: "openai",
          WEFT_MODEL_NAME: "gpt-4.1-mini",
          OPENAI_BASE_URL: undefined,
          SST_SECRET_WeftApiKeys: "k1:acme, k2:beta",
          SST_SECRET_WeftSigningSecret: "a signing secret of at least 32 characters",
          SST_SECRET_OpenAiApiKey: "sk-test",
        },
        { stack: "elasticache" },
      ),
    );
  }, 180_000);

  it("creates exactly the routes of infra/routes.ts, each integrated with its handler's function", () => {
    const targets = g.routeTargets();
    expect([...targets.keys()].sort()).toEqual(routes.map(routeKey).sort());
    for (const r of routes) expect(targets.get(routeKey(r)), routeKey(r)).toBe(functionName(r.handler));
    for (const i of g.of("aws:apigatewayv2/integration:Integration")) expect(i.inputs.payloadFormatVersion).toBe("2.0");
    expect(g.of("aws:apigatewayv2/api:Api")).toHaveLength(1);
    expect(g.of("aws:apigatewayv2/api:Api")[0]!.inputs.protocolType).toBe("HTTP");
  });

  it("serves the stream routes from a REST API whose integrations stream from the Stream function, in the VPC", () => {
    const [rest] = g.of("aws:apigateway/restApi:RestApi");
    const doc = JSON.parse(plain(rest!.inputs.body));
    expect(Object.keys(doc.paths).sort()).toEqual(streamRoutes.map((r) => r.path).sort());
    const streamArn = g.lambdas.get("Stream")!.state.arn;
    for (const r of streamRoutes) {
      const integration = doc.paths[r.path][r.method.toLowerCase()]["x-amazon-apigateway-integration"];
      expect(integration).toMatchObject({ type: "aws_proxy", httpMethod: "POST", responseTransferMode: "STREAM", timeoutInMillis: 900_000 });
      // InvokeWithResponseStream, not Invoke: the 2021-11-15 response-streaming path.
      expect(integration.uri).toMatch(/^arn:aws:apigateway:[\w-]+:lambda:path\/2021-11-15\/functions\/.+\/response-streaming-invocations$/);
      expect(g.fnOfArn(integration.uri.replace(/^.*\/functions\/(.+)\/response-streaming-invocations$/, "$1")) ?? integration.uri).toBe("Stream");
    }
    expect(streamArn).toBeTruthy();
    expect(g.of("aws:apigateway/stage:Stage").map((s) => s.inputs.stageName)).toEqual(["live"]);
    const invokers = g.of("aws:lambda/permission:Permission").filter((p) => p.inputs.principal === "apigateway.amazonaws.com");
    const forStream = invokers.filter((p) => plain(p.inputs.function) === g.lambdas.get("Stream")!.state.name);
    expect(forStream.map((p) => plain(p.inputs.sourceArn))).toEqual([`${rest!.state.executionArn}/*/*`]);
    expect(g.lambdas.get("Stream")?.inputs.vpcConfig?.subnetIds?.length).toBeGreaterThan(0);
    expect(g.lambdas.get("Stream")?.inputs.timeout).toBe(900);
    // The API function hands out watch tokens with the stream's URL; the others do not need it.
    expect(g.env("HttpApi").WEFT_STREAM_URL).toBe(g.of("aws:apigateway/stage:Stage")[0]!.state.invokeUrl);
    expect(g.env("Reconcile").WEFT_STREAM_URL).toBeUndefined();
  });

  it("deploys the dashboard as a static site (S3 + CloudFront) built with the API's and the Stream API's URLs", () => {
    const builds = g.of("command:local:Command").filter((c) => c.name === "DashboardBuilder");
    expect(builds).toHaveLength(1);
    expect(builds[0]!.inputs).toMatchObject({ create: "npm run build", dir: DASHBOARD_DIR });
    const env = plain(builds[0]!.inputs.environment);
    expect(env.VITE_WEFT_API_URL).toBe(g.of("aws:apigatewayv2/api:Api")[0]!.state.apiEndpoint);
    expect(env.VITE_WEFT_API_URL).toMatch(/^https:\/\/.*execute-api/);
    expect(env.VITE_WEFT_STREAM_URL).toBe(g.of("aws:apigateway/stage:Stage")[0]!.state.invokeUrl);
    expect(g.of("aws:cloudfront/distribution:Distribution")).toHaveLength(1);
    expect(g.of("aws:s3/bucketV2:BucketV2").filter((b) => b.name.startsWith("Dashboard"))).toHaveLength(1);
    expect(plain(g.ev.outputs.dashboard)).toMatch(/^https:\/\//);
    // The site is another origin than the HTTP API: the API answers CORS (asserted below).
    expect(plain(g.of("aws:apigatewayv2/api:Api")[0]!.inputs.corsConfiguration)?.allowOrigins).toEqual(["*"]);
  });

  it("lets the dashboard's origin call both APIs: CORS from infra/routes.ts on the HTTP API, preflights and gateway errors on the Stream API", () => {
    // HTTP API: API Gateway answers preflights itself. Authorization is named (a `*` would not cover it).
    const httpCors = plain(g.of("aws:apigatewayv2/api:Api")[0]!.inputs.corsConfiguration) as Record<string, unknown>;
    expect(httpCors).toEqual({
      allowOrigins: ["*"],
      allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE"],
      allowHeaders: [...CORS.allowHeaders],
      exposeHeaders: ["etag", "retry-after"],
      maxAge: 600,
    });
    expect(httpCors.allowHeaders).toEqual(expect.arrayContaining(["authorization", "content-type", "last-event-id", "if-match"]));
    // REST API: each stream path's OPTIONS goes to the Stream function (which answers it), and
    // the responses API Gateway makes itself carry the origin header.
    const doc = JSON.parse(plain(g.of("aws:apigateway/restApi:RestApi")[0]!.inputs.body));
    for (const r of streamRoutes) {
      expect(Object.keys(doc.paths[r.path]).sort()).toEqual(["get", "options"]);
      expect(doc.paths[r.path].options["x-amazon-apigateway-integration"]).toEqual(doc.paths[r.path].get["x-amazon-apigateway-integration"]);
    }
    for (const type of ["DEFAULT_4XX", "DEFAULT_5XX"])
      expect(doc["x-amazon-apigateway-gateway-responses"][type].responseParameters).toEqual({
        "gatewayresponse.header.Access-Control-Allow-Origin": "'*'",
        "gatewayresponse.header.Access-Control-Expose-Headers": "'etag,retry-after'",
      });
  });

  it("fires reconcile every minute", () => {
    const crons = g.rules().filter((r) => r.rule.inputs.scheduleExpression);
    expect(crons.map((c) => [c.rule.inputs.scheduleExpression, c.targets])).toEqual([["rate(1 minute)", ["Reconcile"]]]);
    expect(schedules.map((s) => s.schedule)).toEqual(["rate(1 minute)"]);
  });

  it("subscribes each handler to the Weft bus with its pattern", () => {
    const [bus] = g.of("aws:cloudwatch/eventBus:EventBus");
    const onBus = g.rules().filter((r) => r.rule.inputs.eventBusName === bus!.state.name);
    const actual = onBus.map((r) => ({ pattern: JSON.parse(r.rule.inputs.eventPattern), targets: r.targets }));
    const expected = subscriptions.map((s) => ({
      pattern: {
        source: s.pattern.source,
        "detail-type": s.pattern.detailType,
        ...(s.pattern.detail ? { detail: s.pattern.detail } : {}),
      },
      targets: [functionName(s.handler)],
    }));
    expect(actual).toEqual(expect.arrayContaining(expected));
    expect(actual).toHaveLength(expected.length);
    // What the brief asks of the data: the flush on every finished run, agents routed by name.
    expect(expected).toContainEqual({ pattern: { source: ["weft"], "detail-type": ["DagSucceeded", "DagFailed", "DagCancelled"] }, targets: ["Archive"] });
    for (const agent of EXAMPLE_AGENTS) {
      expect(expected).toContainEqual({ pattern: { source: ["weft"], "detail-type": ["NodeReady"], detail: { agent: [agent] } }, targets: ["ResearchPipelinePush"] });
    }
    // EventBridge may invoke each subscribed function.
    const invokers = g.of("aws:lambda/permission:Permission").filter((p) => p.inputs.principal === "events.amazonaws.com");
    expect(new Set(invokers.map((p) => g.fnOfArn(p.inputs.function)))).toEqual(new Set(["Archive", "ResearchPipelinePush", "Reconcile"]));
  });

  it("builds the archive table from TABLE: keys, indexes and TTL", () => {
    const tables = g.of("aws:dynamodb/table:Table");
    expect(tables).toHaveLength(1);
    const t = tables[0]!.inputs;
    expect([t.hashKey, t.rangeKey]).toEqual([TABLE.partitionKey, TABLE.sortKey]);
    expect(t.ttl).toMatchObject({ attributeName: TABLE.ttlAttribute, enabled: true });
    expect(t.billingMode).toBe("PAY_PER_REQUEST");
    const indexes = Object.fromEntries((t.globalSecondaryIndexes as any[]).map((i) => [i.name, i]));
    for (const i of Object.values(TABLE.indexes)) {
      expect(indexes[i.name]).toMatchObject({ hashKey: i.partitionKey, rangeKey: i.sortKey, projectionType: "INCLUDE" });
      expect([...indexes[i.name].nonKeyAttributes].sort()).toEqual([...TABLE.projected].sort());
    }
    expect((t.attributes as any[]).map((a) => [a.name, a.type]).sort()).toEqual(Object.keys(TABLE.sst.fields).map((n) => [n, "S"]).sort());
  });

  it("puts Redis on ElastiCache in cluster mode with TLS, the engine functions in its VPC, and no Upstash secrets", () => {
    const groups = g.of("aws:elasticache/replicationGroup:ReplicationGroup");
    expect(groups).toHaveLength(1);
    expect(groups[0]!.inputs).toMatchObject({ clusterMode: "enabled", numNodeGroups: 1, transitEncryptionEnabled: true });
    expect(g.of("aws:ec2/vpc:Vpc")).toHaveLength(1);
    expect(g.of("sst:sst:Secret").map((s) => s.name).sort()).toEqual(["OpenAiApiKey", "WeftApiKeys", "WeftSigningSecret"]);
    const host = groups[0]!.state.configurationEndpointAddress;
    for (const fn of ENGINE_FUNCTIONS) {
      const env = g.env(fn);
      expect(env.REDIS_CLUSTER_NODES, fn).toBe(`${host}:6379`);
      // The mock auth token holds @ : / - they must arrive percent-encoded.
      expect(env.REDIS_URL, fn).toBe(`rediss://default:p%40ss%3Aw%2Frd@${host}:6379`);
      expect(env.UPSTASH_REDIS_REST_URL, fn).toBeUndefined();
      expect(g.lambdas.get(fn)?.inputs.vpcConfig?.subnetIds?.length, fn).toBeGreaterThan(0);
    }
    expect(g.lambdas.get("ResearchPipelinePush")?.inputs.vpcConfig).toBeUndefined();
  });

  it("gives engine functions the shards, keys, bus and table, links them, and copies the Lua scripts", () => {
    const [bus] = g.of("aws:cloudwatch/eventBus:EventBus");
    const [table] = g.of("aws:dynamodb/table:Table");
    const [bucket] = g.of("aws:s3/bucketV2:BucketV2").filter((b) => !b.name.startsWith("Dashboard"));
    expect([...g.lambdas.keys()].sort()).toEqual([...ENGINE_FUNCTIONS, "ResearchPipelinePush"].sort());
    for (const fn of ENGINE_FUNCTIONS) {
      expect(g.env(fn), fn).toMatchObject({
        WEFT_SHARDS: "4",
        WEFT_API_KEYS: "k1:acme, k2:beta",
        WEFT_EVENT_BUS: bus!.state.name,
        WEFT_TABLE: table!.state.name,
        WEFT_VALUES_BUCKET: bucket!.state.bucket,
        WEFT_SIGNING_SECRET: "a signing secret of at least 32 characters",
      });
      expect(g.env(fn).WEFT_PUBLIC_URL, fn).toMatch(/^https:\/\/.*execute-api/);
      expect(g.lambdas.get(fn)?.inputs.runtime).toBe("nodejs20.x");
      const build = g.ev.builds.find((b) => b.functionID === fn);
      expect(Object.keys(build?.links ?? {}).sort(), fn).toEqual(["Archive", "Events", "Redis", "Values", "WeftApiKeys", "WeftSigningSecret"]);
      expect(build?.copyFiles, fn).toEqual([{ from: join(ROOT, "packages/core/src/redis/lua"), to: "lua", isDir: true }]);
      // Required on first use once WEFT_TRACING is on, so not bundled: installed beside the bundle.
      expect(build?.nodejs?.install, fn).toEqual(["@opentelemetry/api"]);
    }
    expect(g.lambdas.get("Reconcile")?.inputs.timeout).toBeLessThan(60);
  });

  it("alarms on reconcile errors, outbox lag, archive flush failures and the 5xx rate, each notifying one SNS topic", () => {
    const [topic] = g.of("aws:sns/topic:Topic");
    expect(topic).toBeDefined();
    expect(plain(g.ev.outputs.alarms)).toBe(topic!.state.arn);
    const created = new Map(g.of("aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => [a.name, plain(a.inputs)]));
    expect([...created.keys()].sort()).toEqual(["Api5xxRateAlarm", "ArchiveFlushFailuresAlarm", "OutboxLagAlarm", "ReconcileErrorsAlarm"]);
    const namespace = metricsNamespace("test");
    for (const fn of ENGINE_FUNCTIONS) expect(g.env(fn).POWERTOOLS_METRICS_NAMESPACE, fn).toBe(namespace);
    for (const spec of alarms) {
      const a = created.get(`${spec.name}Alarm`)!;
      expect(a, spec.name).toMatchObject({ alarmActions: [topic!.state.arn], okActions: [topic!.state.arn], treatMissingData: "notBreaching", threshold: spec.threshold });
    }
    const single = (name: string) => created.get(name)!;
    expect(single("ReconcileErrorsAlarm")).toMatchObject({ namespace, metricName: METRICS.reconcileErrors.name, statistic: "Sum", dimensions: { service: "weft" } });
    expect(single("OutboxLagAlarm")).toMatchObject({ namespace, metricName: METRICS.relayLag.name, statistic: "Maximum", comparisonOperator: "GreaterThanThreshold" });
    expect(single("ArchiveFlushFailuresAlarm")).toMatchObject({ namespace, metricName: METRICS.archiveFlushFailures.name, statistic: "Sum" });
    const rate = single("Api5xxRateAlarm");
    expect(rate.metricQueries).toEqual([
      { id: "errors", returnData: false, metric: { namespace, metricName: METRICS.apiRequests.name, dimensions: { service: "weft", class: "5xx" }, period: 300, stat: "Sum" } },
      { id: "all", returnData: false, metric: { namespace, metricName: METRICS.apiRequests.name, dimensions: { service: "weft" }, period: 300, stat: "Sum" } },
      { id: "rate", expression: "100 * FILL(errors, 0) / all", label: "Api5xxRate", returnData: true },
    ]);
    // The dimension sets the alarms read are ones the EMF records carry (the metric's labels or a rollup).
    for (const spec of alarms) {
      for (const ref of Object.values(spec.metrics)) {
        const names = Object.keys(ref.dimensions).filter((d) => d !== "service").sort();
        const sets = [ref.metric.labels, ...(ref.metric.rollups ?? [])].map((l) => [...l].sort().join(","));
        expect(sets, `${spec.name}: ${ref.metric.name}`).toContain(names.join(","));
      }
    }
  });

  it("deploys the bucket of large values, private, its objects expiring after the cold store's retention", () => {
    // The other bucket is the dashboard's (its static site's assets).
    const buckets = g.of("aws:s3/bucketV2:BucketV2").filter((b) => !b.name.startsWith("Dashboard"));
    expect(buckets).toHaveLength(1);
    const [rules] = g.of("aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2");
    expect(rules!.inputs.rules).toEqual([
      expect.objectContaining({ id: "run-retention", status: "Enabled", filter: { prefix: "weft/" }, expiration: expect.objectContaining({ days: DEFAULT_RETENTION_DAYS + 7 }) }),
    ]);
    expect(g.of("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")[0]?.inputs).toMatchObject({ blockPublicAcls: true, restrictPublicBuckets: true });
  });

  it("lets a browser read the bucket's values through presigned URLs (the dashboard's ?values=url), and nothing else", () => {
    const [bucket] = g.of("aws:s3/bucketV2:BucketV2").filter((b) => !b.name.startsWith("Dashboard"));
    const cors = g.of("aws:s3/bucketCorsConfigurationV2:BucketCorsConfigurationV2").filter((c) => plain(c.inputs.bucket) === bucket!.state.bucket);
    expect(cors).toHaveLength(1);
    expect(plain(cors[0]!.inputs.corsRules)).toEqual([
      expect.objectContaining({ allowedOrigins: ["*"], allowedMethods: ["GET", "HEAD"], allowedHeaders: ["*"], maxAgeSeconds: 86_400 }),
    ]);
  });

  it("ships the Lua scripts inside each engine function's zip, under lua/", () => {
    const zip = readFileSync(join(g.ev.workDir, "artifacts", "HttpApi", "code.zip")).toString("latin1");
    expect(zip).toContain("functions/api.mjs");
    expect(zip).toContain("lua/complete.lua");
    expect(zip).toMatch(/lua\/includes\/[\w-]+\.lua/);
  });

  it("deploys the example's push-mode agent Lambda with the API's URL, a key and the model, not Redis or the table", () => {
    const build = g.ev.builds.find((b) => b.functionID === "ResearchPipelinePush");
    expect(build?.handler).toBe(EXAMPLE_PUSH_HANDLER);
    const env = g.env("ResearchPipelinePush");
    expect(env.WEFT_API_URL).toMatch(/^https:\/\/.*execute-api/);
    expect(env.WEFT_API_KEY).toBe("k1");
    expect(env).toMatchObject({ WEFT_MODEL: "openai", OPENAI_API_KEY: "sk-test", WEFT_MODEL_NAME: "gpt-4.1-mini" });
    expect(env.OPENAI_BASE_URL).toBeUndefined();
    for (const k of ["REDIS_URL", "REDIS_CLUSTER_NODES", "WEFT_TABLE", "WEFT_API_KEYS"]) expect(env[k], k).toBeUndefined();
    expect(Object.keys(build?.links ?? {}).sort()).toEqual(["Api", "OpenAiApiKey", "WeftApiKeys"]);
    expect(g.lambdas.get("ResearchPipelinePush")?.inputs.timeout).toBe(180);
    // @weft/client imports only @weft/core/sdk (no Redis, no Lua): nothing ships next to the agent's bundle.
    expect(build?.copyFiles ?? []).toEqual([]);
  });
});

describe("SST resource graph: Upstash, example agents off", () => {
  let g: Graph;
  beforeAll(async () => {
    g = new Graph(
      await evaluate(
        {
          WEFT_REDIS: "upstash",
          WEFT_SHARDS: undefined,
          WEFT_EXAMPLE_AGENTS: "0",
          // Asked for, but with no example agents there is nothing to give the key to.
          WEFT_EXAMPLE_MODEL: "openai",
          SST_SECRET_WeftApiKeys: "k1:acme",
          SST_SECRET_WeftSigningSecret: "a signing secret of at least 32 characters",
          SST_SECRET_UpstashRedisRestUrl: "https://eu1-weft.upstash.io",
          SST_SECRET_UpstashRedisRestToken: "tok3n",
        },
        { stack: "upstash" },
      ),
    );
  }, 180_000);

  it("uses the Upstash URL and token secrets, with no VPC or ElastiCache", () => {
    expect(g.of("aws:elasticache/replicationGroup:ReplicationGroup")).toHaveLength(0);
    expect(g.of("aws:ec2/vpc:Vpc")).toHaveLength(0);
    expect(g.of("sst:sst:Secret").map((s) => s.name).sort()).toEqual(["UpstashRedisRestToken", "UpstashRedisRestUrl", "WeftApiKeys", "WeftSigningSecret"]);
    for (const fn of ENGINE_FUNCTIONS) {
      const env = g.env(fn);
      expect(env, fn).toMatchObject({ UPSTASH_REDIS_REST_URL: "https://eu1-weft.upstash.io", UPSTASH_REDIS_REST_TOKEN: "tok3n", WEFT_SHARDS: "1" });
      expect(env.REDIS_URL, fn).toBeUndefined();
      expect(g.lambdas.get(fn)?.inputs.vpcConfig, fn).toBeUndefined();
      const links = Object.keys(g.ev.builds.find((b) => b.functionID === fn)?.links ?? {}).sort();
      expect(links, fn).toEqual(["Archive", "Events", "UpstashRedisRestToken", "UpstashRedisRestUrl", "Values", "WeftApiKeys", "WeftSigningSecret"]);
    }
  });

  it("deploys no example agents, no model secret and no NodeReady rules when the example is off", () => {
    expect(g.lambdas.has("ResearchPipelinePush")).toBe(false);
    const patterns = g.rules().map((r) => r.rule.inputs.eventPattern ?? "");
    expect(patterns.some((p) => p.includes("NodeReady"))).toBe(false);
    expect(patterns.filter((p) => p.includes("DagSucceeded"))).toHaveLength(1);
    expect([...g.routeTargets().keys()].sort()).toEqual(routes.map(routeKey).sort());
  });
});
