import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from "aws-lambda";
import { Redis } from "ioredis";
import type { BusEvent } from "@weft/core/events";
import { apiEvent, reply, type Reply } from "./apigw.js";
import { streamRoutes } from "../../../infra/routes.js";

type Handler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>;

/** Whether a documented path is the API Lambda's (the stream routes are the Stream function's: functions/test/live). */
export const servedByApi = (path: string): boolean => !streamRoutes.some((r) => r.path === path);

export const KEY_A = "key-acme-0123456789";
export const KEY_B = "key-globex-9876543210";
export const TENANT_A = "acme";
export const TENANT_B = "globex";

/** Invokes a Lambda handler with an API Gateway v2 event and decodes its JSON reply. */
export async function invoke(handler: Handler, method: string, path: string, opts: Parameters<typeof apiEvent>[2] = {}): Promise<Reply> {
  return reply(await handler(apiEvent(method, path, { key: KEY_A, ...opts })));
}

/** DEBUG DIGEST: one hash of the whole dataset, so "nothing was written" is one comparison. */
export async function digest(admin: Redis): Promise<string> {
  return String(await admin.call("DEBUG", "DIGEST"));
}

let n = 0;
/** Unique ids per test, so runs and agents of different tests never meet in one Redis. */
export function uid(label: string): string {
  return `${label}-${process.pid}-${++n}`;
}

/** a -> {b, c} -> d, with agents unique to this run. */
export function diamond(id: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    nodes: [
      { id: "a", agent: `${id}-plan`, input: { topic: "weft" } },
      { id: "b", agent: `${id}-research`, deps: ["a"] },
      { id: "c", agent: `${id}-research`, deps: ["a"] },
      { id: "d", agent: `${id}-write`, deps: ["b", "c"] },
    ],
    ...extra,
  };
}

/** The bus event of a run that ended, as EventBridge hands it to the archive function. */
export function finishedEvent(type: "DagFailed" | "DagSucceeded" | "DagCancelled", dagId: string, tenant = TENANT_A): BusEvent {
  return {
    version: "0",
    id: "x",
    "detail-type": type,
    source: "weft",
    account: "000000000000",
    time: new Date().toISOString(),
    region: "local",
    resources: [],
    detail: { eventId: "0:1-0", tenant, dagId, at: Date.now() },
  };
}

/** Waits until Redis has let an archived run go (its keys expire the hot TTL after the flush); then only DynamoDB has it. */
export async function waitUntilGoneFromRedis(dagId: string, tenant = TENANT_A): Promise<void> {
  const { getRuntime } = await import("../../config.js");
  for (let i = 0; i < 100; i++) {
    try {
      await getRuntime().engine.getRun(tenant, dagId);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`run ${dagId} is still in Redis`);
}
