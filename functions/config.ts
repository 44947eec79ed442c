import {
  createArchiver,
  createEngine,
  type EngineOptions,
  createReadThrough,
  createStateStore,
  ValidationError,
  type Archiver,
  type ColdStore,
  type Engine,
  type OutboxEvent,
  type ReadThrough,
  type StateStore,
} from "@weft/core";
import { DynamoColdStore } from "@weft/core/dynamodb";
import { EventBridgePublisher, relayEvents, relayOutbox, type Ack, type EventPublisher, type RelayOptions, type RelayResult } from "@weft/core/events";
import { connectRedis, redisConfigFromEnv, type KeySchema, type RedisConfig, type RedisPort } from "@weft/core/redis";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { hotOnlyReads } from "./http/routes/deps.js";
import { parseApiKeys, type AuthConfig } from "./http/auth.js";
import { parseRateLimits, type RateLimitRules } from "./http/limits.js";
import { createRateLimiter, type RateLimiter } from "@weft/core/limits";
import { errorFields, logger } from "./log.js";
import { watchSecretFromEnv, watchTokens, type WatchTokens } from "./live/watch-token.js";
import { createS3ValueStore, DEFAULT_VALUE_THRESHOLD_BYTES } from "@weft/core/values";
import { createSignals, type Signals } from "@weft/core/signals";
import { createValues, type Values } from "./values.js";
import { METRICS, metrics } from "./metrics/index.js";
import { recordArchivedRun } from "./metrics/runs.js";
import { coalesced } from "./http/after-response.js";
import { recordPublished, recordStarted } from "./metrics/live.js";
import { scriptSpan, tracedPublisher, tracingEnabled } from "./tracing.js";

type Env = Record<string, string | undefined>;

/** Everything a function needs, read from its environment once per container. */
export interface WeftConfig {
  redis: RedisConfig;
  shardCount: number;
  prefix: string;
  auth: AuthConfig;
  /** EventBridge bus the outbox is relayed to; without it (and without an injected publisher) events stay in the outbox. */
  eventBus?: string;
  bodyLimitBytes?: number;
  /** DynamoDB table of finished runs; without it runs live in Redis only (no archive, no cold reads). */
  table?: string;
  /** A DynamoDB-compatible endpoint (dynalite, DynamoDB Local) instead of AWS. */
  dynamoEndpoint?: string;
  /** How long a run stays in Redis once archived. */
  hotTtlSeconds?: number;
  /** Signs watch tokens (functions/live/watch-token.ts). */
  watchSecret: Buffer;
  /** Base URL of the stream API when it is not this API (deployed: the REST API in front of the Stream function). */
  streamUrl?: string;
  /** Seals signal tokens (signal URLs of waits); without it there are none. */
  signingSecret?: string;
  /** The API's public base URL, for the signal URLs in NodeWaiting events and the log. */
  publicUrl?: string;
  /** Most runs in flight per tenant (engine option maxRunsInFlight); no limit without it. */
  maxRunsInFlight?: number;
  /** Per-tenant rate limits by scope (functions/http/limits.ts); without them nothing is limited. */
  rateLimits?: RateLimitRules;
  /** The S3 bucket of large inputs and outputs (functions/values.ts); without it values stay in Redis (at most 256 KB). */
  valuesBucket?: string;
  /** An S3-compatible endpoint (s3rver locally) instead of AWS. */
  s3Endpoint?: string;
  /** Values above this many bytes of JSON go to the bucket (default and most: 256 KB). */
  valueThresholdBytes?: number;
  /**
   * A write's events are relayed after its response, not before (functions/http/after-response.ts).
   * Only for a process that outlives its responses: the local emulator sets it; a Lambda is frozen.
   */
  relayAfterResponse?: boolean;
}

/**
 * REDIS_URL | REDIS_CLUSTER_NODES | UPSTASH_REDIS_REST_URL + UPSTASH_REDIS_REST_TOKEN,
 * WEFT_SHARDS (default 1), WEFT_PREFIX (default "weft"), WEFT_API_KEYS ("key:tenant,..."),
 * WEFT_DEV_TENANT, WEFT_EVENT_BUS, WEFT_BODY_LIMIT_BYTES, WEFT_TABLE, DYNAMODB_ENDPOINT,
 * WEFT_HOT_TTL_SECONDS, WEFT_WATCH_SECRET, WEFT_STREAM_URL, WEFT_SIGNING_SECRET (32+
 * characters), WEFT_PUBLIC_URL, WEFT_RATE_LIMITS, WEFT_MAX_RUNS_IN_FLIGHT, WEFT_VALUES_BUCKET,
 * WEFT_S3_ENDPOINT, WEFT_VALUE_THRESHOLD_BYTES, WEFT_RELAY_AFTER_RESPONSE (1/true, 0/false). Bad values throw a
 * ValidationError naming the variable, so a broken deployment fails at cold start.
 */
export function configFromEnv(env: Env = process.env): WeftConfig {
  const cfg: WeftConfig = {
    redis: redisConfigFromEnv(env),
    shardCount: intVar(env, "WEFT_SHARDS", 1, 16384) ?? 1,
    prefix: env.WEFT_PREFIX?.trim() || "weft",
    auth: authFromEnv(env),
    watchSecret: watchSecretFromEnv(env),
  };
  if (cfg.watchSecret.length < 16) throw new ValidationError("WEFT_WATCH_SECRET must be at least 16 characters", "WEFT_WATCH_SECRET");
  const streamUrl = env.WEFT_STREAM_URL?.trim().replace(/\/+$/, "");
  if (streamUrl) cfg.streamUrl = streamUrl;
  const bus = env.WEFT_EVENT_BUS?.trim();
  if (bus) cfg.eventBus = bus;
  const limit = intVar(env, "WEFT_BODY_LIMIT_BYTES", 1, 100 * 1024 * 1024);
  if (limit !== undefined) cfg.bodyLimitBytes = limit;
  const table = env.WEFT_TABLE?.trim();
  if (table) cfg.table = table;
  const endpoint = env.DYNAMODB_ENDPOINT?.trim();
  if (endpoint) cfg.dynamoEndpoint = endpoint;
  const ttl = intVar(env, "WEFT_HOT_TTL_SECONDS", 1, 365 * 86_400);
  if (ttl !== undefined) cfg.hotTtlSeconds = ttl;
  const secret = env.WEFT_SIGNING_SECRET?.trim();
  if (secret) {
    if (secret.length < 32) throw new ValidationError("WEFT_SIGNING_SECRET must be at least 32 characters", "WEFT_SIGNING_SECRET");
    cfg.signingSecret = secret;
  }
  const publicUrl = env.WEFT_PUBLIC_URL?.trim();
  if (publicUrl) {
    if (!/^https?:\/\/[^\s]+$/.test(publicUrl)) throw new ValidationError("WEFT_PUBLIC_URL must be an http(s) URL", "WEFT_PUBLIC_URL");
    cfg.publicUrl = publicUrl;
  }
  const inFlight = intVar(env, "WEFT_MAX_RUNS_IN_FLIGHT", 1, 1_000_000_000);
  if (inFlight !== undefined) cfg.maxRunsInFlight = inFlight;
  const bucket = env.WEFT_VALUES_BUCKET?.trim();
  if (bucket) cfg.valuesBucket = bucket;
  const s3 = env.WEFT_S3_ENDPOINT?.trim();
  if (s3) cfg.s3Endpoint = s3;
  const threshold = intVar(env, "WEFT_VALUE_THRESHOLD_BYTES", 1024, DEFAULT_VALUE_THRESHOLD_BYTES);
  if (threshold !== undefined) cfg.valueThresholdBytes = threshold;
  const after = env.WEFT_RELAY_AFTER_RESPONSE?.trim().toLowerCase();
  if (after) {
    if (!["1", "true", "0", "false"].includes(after)) throw new ValidationError("WEFT_RELAY_AFTER_RESPONSE must be 1, true, 0 or false", "WEFT_RELAY_AFTER_RESPONSE");
    if (after === "1" || after === "true") cfg.relayAfterResponse = true;
  }
  const limits = env.WEFT_RATE_LIMITS?.trim();
  if (limits) {
    try {
      cfg.rateLimits = parseRateLimits(limits);
    } catch (err) {
      throw new ValidationError(`WEFT_RATE_LIMITS ${(err as Error).message}`, "WEFT_RATE_LIMITS");
    }
  }
  return cfg;
}

/**
 * API keys when WEFT_API_KEYS is set. Without keys, a single dev tenant serves every
 * caller, but only off Lambda (or when WEFT_DEV_TENANT asks for it explicitly): a
 * deployed function with no keys refuses everyone rather than running open.
 */
export function authFromEnv(env: Env): AuthConfig {
  const keys = env.WEFT_API_KEYS?.trim();
  if (keys) {
    try {
      return { keys: parseApiKeys(keys) };
    } catch (err) {
      throw new ValidationError((err as Error).message, "WEFT_API_KEYS");
    }
  }
  const dev = env.WEFT_DEV_TENANT?.trim();
  if (dev) return { devTenant: dev };
  if (env.AWS_LAMBDA_FUNCTION_NAME) {
    logger.error("WEFT_API_KEYS is not set; every /v1 request will get 401");
    return { keys: {} };
  }
  return { devTenant: "dev" };
}

function intVar(env: Env, name: string, min: number, max: number): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ValidationError(`${name} must be an integer from ${min} to ${max}`, name);
  return n;
}

/** The engine and its surroundings, shared by every handler invocation in a container. */
export interface Runtime {
  /** Flushes the acks this runtime coalesces (WEFT_RELAY_AFTER_RESPONSE) before resetRuntime closes its engine. */
  release?: () => void;
  config: WeftConfig;
  engine: Engine;
  /** The Redis port the engine runs on (the live stream duplicates its TCP client to block on). */
  redis: RedisPort;
  /** Issues and verifies watch tokens. */
  tokens: WatchTokens;
  /** Shared agent state, on the same Redis connection as the engine. */
  state: StateStore;
  /** Reads and resumes that find a run in Redis or, once released, in the cold store. */
  runs: ReadThrough;
  /** Flushes finished runs to the cold store; absent without WEFT_TABLE. */
  archiver?: Archiver;
  /** The cold store itself (GET /health probes it); absent without WEFT_TABLE. */
  cold?: ColdStore;
  /** Health and scaling signals read from Redis (GET /health, GET /v1/agents). */
  signals: Signals;
  /** Takes per-tenant rate-limit tokens; absent without WEFT_RATE_LIMITS. */
  limiter?: RateLimiter;
  /** Large inputs and outputs in S3 (a pass-through without WEFT_VALUES_BUCKET). */
  values: Values;
  keys: KeySchema;
  /** Outbox -> publisher; a no-op result when there is no publisher. */
  relay(opts?: RelayOptions): Promise<RelayResult>;
  /**
   * The relay a write handler runs for the run it just changed: the outbox events the write
   * itself replied (`written`, Engine.takeOutbox), published and acked; without them, a
   * bounded relay of the run's shard.
   */
  relayRun(ref: { tenant: string; dagId: string }, written?: OutboxEvent[]): Promise<RelayResult>;
}

export interface RuntimeOverrides {
  env?: Env;
  /** Used by the engine and the state store both; closed by resetRuntime only if created here. */
  redis?: RedisPort;
  engine?: Engine;
  publisher?: EventPublisher;
  auth?: AuthConfig;
  cold?: ColdStore;
}

let overrides: RuntimeOverrides = {};
let current: Runtime | undefined;

/**
 * Injects parts of the runtime before the first invocation: the local emulator passes
 * its in-process publisher, tests their own env. Resets any runtime already built.
 */
export async function configureRuntime(o: RuntimeOverrides): Promise<void> {
  await resetRuntime();
  overrides = o;
}

/** Closes the engine this module created (if any) and forgets the runtime. */
export async function resetRuntime(): Promise<void> {
  const rt = current;
  current = undefined;
  rt?.release?.();
  // engine.close() closes the Redis port it was given; a port passed in stays open.
  if (rt && !overrides.engine && !overrides.redis) await rt.engine.close();
}

/** Built lazily on first use, then reused while the container lives (Redis connection included). */
export function getRuntime(): Runtime {
  current ??= buildRuntime(overrides);
  return current;
}

function buildRuntime(o: RuntimeOverrides): Runtime {
  const base = configFromEnv(o.env ?? process.env);
  const config = o.auth ? { ...base, auth: o.auth } : base;
  const redis = o.redis ?? connectRedis(config.redis);
  const engine =
    o.engine ??
    createEngine({
      redis,
      shardCount: config.shardCount,
      prefix: config.prefix,
      ...(config.signingSecret ? { signingSecret: config.signingSecret } : {}),
      ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
      ...(config.maxRunsInFlight ? { maxRunsInFlight: config.maxRunsInFlight } : {}),
      // WEFT_TRACING: spans around script calls, and trace context handed to tasks and NodeReady.
      ...(tracingEnabled() ? { traceContext: true } : {}),
      ...(aroundScript() ?? {}),
    });
  const state = createStateStore({ redis, keys: engine.keys });
  const keys = engine.keys;
  const bus = o.publisher ?? (config.eventBus ? new EventBridgePublisher({ eventBusName: config.eventBus }) : undefined);
  const measured = bus && metrics.enabled ? measuredPublisher(bus) : bus;
  const publisher = measured && tracingEnabled() ? tracedPublisher(measured) : measured;
  if (!publisher) logger.warn("no WEFT_EVENT_BUS: outbox events are kept in Redis, not published");
  const cold = o.cold ?? coldStoreFor(config);
  const runs = cold ? createReadThrough({ engine, cold }) : hotOnlyReads(engine);
  const archiver = cold
    ? createArchiver({
        engine,
        cold,
        ...(config.hotTtlSeconds ? { hotTtlSeconds: config.hotTtlSeconds } : {}),
        onFlushError: (ref, err) =>
          logger.warn("archive flush failed; the run stays in the finished index and is retried", { tenant: ref.tenant, run: ref.dagId, ...errorFields(err) }),
        ...(metrics.enabled ? { onFlushed: recordArchivedRun } : {}),
      })
    : undefined;
  // The transitions relayed events tell are counted by the ack that removed them (once, when two relays race).
  const counted: Ack | undefined = metrics.enabled
    ? async (events) => {
        const removed = await engine.ackOutbox(events);
        recordPublished(removed === events.length ? events : events.slice(0, removed));
      }
    : undefined;
  const relay = async (opts?: RelayOptions) => (publisher ? relayOutbox(engine, publisher, counted ? { ...opts, ack: counted } : opts) : { published: 0, failed: 0 });
  // Relayed without the response waiting (the local emulator): the acks of the writes of the
  // next few ms go in one Redis call. Published but not yet acked events stay in the outbox;
  // should the cron read them meanwhile they are sent twice (at least once, eventId dedupes).
  const ackLater = config.relayAfterResponse
    ? coalesced(counted ?? ((events: OutboxEvent[]) => engine.ackOutbox(events)), { delayMs: 5, max: 500 })
    : undefined;
  return {
    ...(ackLater ? { release: () => ackLater.close() } : {}),
    config,
    engine,
    redis,
    tokens: watchTokens(config.watchSecret),
    state,
    runs,
    ...(archiver ? { archiver } : {}),
    ...(cold ? { cold } : {}),
    signals: createSignals({ redis, keys: engine.keys }),
    ...(config.rateLimits ? { limiter: createRateLimiter({ redis, prefix: config.prefix }) } : {}),
    values: createValues({
      ...(config.valuesBucket ? { store: createS3ValueStore({ bucket: config.valuesBucket, ...(config.s3Endpoint ? { endpoint: config.s3Endpoint } : {}) }) } : {}),
      ...(config.valueThresholdBytes ? { thresholdBytes: config.valueThresholdBytes } : {}),
    }),
    keys,
    relay,
    relayRun: async ({ tenant, dagId }, written) => {
      if (!written) return relay({ shard: keys.shardOf(tenant, dagId), maxBatches: 2 });
      if (!publisher) return { published: 0, failed: 0 };
      return relayEvents(engine, publisher, written, ackLater ? async (events) => ackLater(events) : counted);
    },
  };
}

/**
 * The engine's hook around script calls, when something wants it: a span each (tracing) and
 * the tasks claim replies hand out (metrics: started). Neither on: no hook at all.
 */
function aroundScript(): Pick<EngineOptions, "aroundScript"> | undefined {
  const traced = tracingEnabled();
  const measured = metrics.enabled;
  if (!traced && !measured) return undefined;
  return {
    aroundScript: async (name, args, run) => {
      const reply = traced ? await scriptSpan(name, args, run) : await run();
      if (measured) recordStarted(name, reply);
      return reply;
    },
  };
}

/**
 * A publisher that records what every relay published (functions/metrics): events
 * published and failed, and the age of the oldest one it sent (the relay lag). The events
 * are in hand already: no Redis work.
 */
function measuredPublisher(inner: EventPublisher): EventPublisher {
  return {
    async publish(events) {
      const result = await inner.publish(events);
      if (events.length === 0) return result;
      let oldest = Infinity;
      for (const e of events) if (e.at < oldest) oldest = e.at;
      metrics.observe(METRICS.relayLag, {}, Math.max(0, Date.now() - oldest) / 1000);
      metrics.count(METRICS.relayed, { result: "published" }, events.length - result.failed.length);
      metrics.count(METRICS.relayed, { result: "failed" }, result.failed.length);
      return result;
    },
  };
}

function coldStoreFor(config: WeftConfig): ColdStore | undefined {
  if (!config.table) return undefined;
  const client = new DynamoDBClient(
    config.dynamoEndpoint
      ? { endpoint: config.dynamoEndpoint, region: "local", credentials: { accessKeyId: "weftlocal", secretAccessKey: "weftlocal" } }
      : {},
  );
  return new DynamoColdStore({ client, tableName: config.table });
}

