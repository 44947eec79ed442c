import { ValidationError } from "../packages/core/src/errors.js";

/**
 * Deployment switches, read from the environment of `sst deploy` (plain data, so the
 * resource graph test can evaluate every combination).
 *
 * - WEFT_REDIS: `elasticache` (sst.aws.Redis in a VPC, the functions inside it) or
 *   `upstash` (REST, URL and token as SST secrets, no VPC). Default: elasticache on the
 *   `production` stage, upstash elsewhere (a dev stage then costs nothing while idle).
 * - WEFT_SHARDS: hash-tag shards of the key space (default 4 on ElastiCache, which runs in cluster mode; 1 on Upstash).
 * - WEFT_EXAMPLE_AGENTS: `1`/`0`, deploy the example's agents (examples/research-pipeline,
 *   push mode; default: not on production).
 * - WEFT_EXAMPLE_MODEL: `fake` (default: deterministic, no provider) or `openai` (the
 *   `OpenAiApiKey` secret; WEFT_MODEL_NAME and OPENAI_BASE_URL are passed through when set).
 */
export type RedisMode = "elasticache" | "upstash";
export type ExampleModel = "fake" | "openai";

export interface DeploySettings {
  redis: RedisMode;
  shards: number;
  exampleAgents: boolean;
  exampleModel: ExampleModel;
}

type Env = Record<string, string | undefined>;

export const PRODUCTION_STAGE = "production";

export function deploySettings(env: Env, stage: string): DeploySettings {
  const production = stage === PRODUCTION_STAGE;
  const redis = redisMode(env.WEFT_REDIS, production);
  return {
    redis,
    // ElastiCache runs in cluster mode: spread runs over the masters unless told otherwise.
    shards: shardCount(env.WEFT_SHARDS) ?? (redis === "elasticache" ? 4 : 1),
    exampleAgents: flag(env.WEFT_EXAMPLE_AGENTS, "WEFT_EXAMPLE_AGENTS", !production),
    exampleModel: exampleModel(env.WEFT_EXAMPLE_MODEL),
  };
}

function exampleModel(raw: string | undefined): ExampleModel {
  const v = raw?.trim().toLowerCase();
  if (!v) return "fake";
  if (v === "fake" || v === "openai") return v;
  throw new ValidationError(`WEFT_EXAMPLE_MODEL must be "fake" or "openai", got "${raw}"`, "WEFT_EXAMPLE_MODEL");
}

function redisMode(raw: string | undefined, production: boolean): RedisMode {
  const v = raw?.trim().toLowerCase();
  if (!v) return production ? "elasticache" : "upstash";
  if (v === "elasticache" || v === "upstash") return v;
  throw new ValidationError(`WEFT_REDIS must be "elasticache" or "upstash", got "${raw}"`, "WEFT_REDIS");
}

function shardCount(raw: string | undefined): number | undefined {
  const v = raw?.trim();
  if (!v) return undefined;
  const n = Number(v);
  // Same bounds as the functions' own check (functions/config.ts): a bad value fails the deploy, not a cold start.
  if (!Number.isInteger(n) || n < 1 || n > 16384) throw new ValidationError("WEFT_SHARDS must be an integer from 1 to 16384", "WEFT_SHARDS");
  return n;
}

function flag(raw: string | undefined, name: string, fallback: boolean): boolean {
  const v = raw?.trim().toLowerCase();
  if (!v) return fallback;
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off"].includes(v)) return false;
  throw new ValidationError(`${name} must be 1 or 0`, name);
}
