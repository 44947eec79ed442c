import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { ensureTable } from "@weft/core/dynamodb";
import { TcpRedis } from "@weft/core/redis";
import { startDynalite, type DynamoServer, startRedis, type RedisProcess } from "@weft/test-support";

export interface ArchiveServers {
  /** The engine's Redis port. */
  port: TcpRedis;
  /** A plain client for looking at keys (TTL, EXISTS, INFO). */
  admin: Redis;
  client: DynamoDBClient;
}

/** A real redis-server and dynalite (with the archive table) for one test file. */
export function useArchiveServers(tableName: string): ArchiveServers {
  const s = {} as ArchiveServers;
  let redis: RedisProcess | undefined;
  let dynamo: DynamoServer | undefined;
  beforeAll(async () => {
    [redis, dynamo] = await Promise.all([startRedis(), startDynalite()]);
    s.port = new TcpRedis({ url: redis.url });
    s.admin = new Redis(redis.port, "127.0.0.1");
    s.client = dynamo.client();
    await ensureTable(s.client, tableName);
  });
  afterAll(async () => {
    s.admin?.disconnect();
    await s.port?.close();
    await dynamo?.stop();
    await redis?.stop();
  });
  return s;
}
