import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import type { Server } from "node:http";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ensureTable } from "@weft/core/dynamodb";
import { freePort, spawnRedisServer } from "./redis-server.js";

export interface Service {
  url: string;
  description: string;
  stop(): Promise<void>;
}

/** REDIS_URL when given, else a redis-server from PATH with its data under `dataDir/redis`. */
export async function startRedis(env: NodeJS.ProcessEnv, dataDir: string): Promise<Service> {
  if (env.REDIS_URL) return { url: env.REDIS_URL, description: `Redis at ${env.REDIS_URL}`, stop: async () => {} };
  const dir = join(dataDir, "redis");
  const server = await spawnRedisServer({ dir });
  return { url: server.url, description: `redis-server on ${server.url} (data in ${dir})`, stop: () => server.stop() };
}

type DynaliteFactory = (opts: { createTableMs?: number; path?: string }) => Server;

export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: "local", credentials: { accessKeyId: "weftlocal", secretAccessKey: "weftlocal" } });
}

/**
 * DYNAMODB_ENDPOINT when given, else dynalite in this process, its LevelDB under
 * `dataDir/dynamo`, so archived runs survive a restart as the live ones in Redis do.
 */
export async function startDynamo(env: NodeJS.ProcessEnv, table: string, dataDir: string): Promise<Service> {
  let url = env.DYNAMODB_ENDPOINT;
  let stop = async () => {};
  let description = `DynamoDB at ${url}`;
  if (!url) {
    const dynalite = createRequire(import.meta.url)("dynalite") as DynaliteFactory;
    const dir = join(dataDir, "dynamo");
    mkdirSync(dir, { recursive: true });
    const server = dynalite({ createTableMs: 0, path: dir });
    const port = await freePort();
    await new Promise<void>((res, rej) => {
      server.once("error", rej);
      server.listen(port, "127.0.0.1", () => res());
    });
    url = `http://127.0.0.1:${port}`;
    description = `dynalite (in-process) on ${url} (data in ${dir})`;
    stop = () =>
      new Promise<void>((res) => {
        server.closeAllConnections?.();
        server.close(() => res());
      });
  }
  const client = localDynamoClient(url);
  await ensureTable(client, table);
  client.destroy();
  return { url, description, stop };
}

type S3rverCtor = new (o: { address: string; port: number; silent: boolean; directory: string; configureBuckets: { name: string; configs: never[] }[] }) => {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
};

/**
 * WEFT_S3_ENDPOINT when given, else s3rver in this process, its objects under `dataDir/s3`:
 * the bucket of large inputs and outputs (functions/values.ts), S3's API on this machine.
 */
export async function startS3(env: NodeJS.ProcessEnv, bucket: string, dataDir: string): Promise<Service> {
  if (env.WEFT_S3_ENDPOINT) return { url: env.WEFT_S3_ENDPOINT, description: `S3 at ${env.WEFT_S3_ENDPOINT}`, stop: async () => {} };
  const S3rver = createRequire(import.meta.url)("s3rver") as S3rverCtor;
  const directory = join(dataDir, "s3");
  mkdirSync(directory, { recursive: true });
  const server = new S3rver({ address: "127.0.0.1", port: await freePort(), silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const { port } = await server.run();
  const url = `http://127.0.0.1:${port}`;
  return { url, description: `s3rver (in-process) on ${url} (objects in ${directory})`, stop: () => server.close() };
}
