import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../../functions/http/app.js";
import { createClient, pushHandler } from "@weft/client";
import { createEngine } from "@weft/core";
import { TcpRedis } from "@weft/core/redis";
import { startRedis, type RedisProcess } from "@weft/test-support";

/** A push handler serving several tenants: each event is handled with its own tenant's key. */
let server: RedisProcess;
let redis: TcpRedis;
let http: ServerType;
let baseUrl: string;
const KEYS = { "tenant-a": "key-a-0123456789", "tenant-b": "key-b-0123456789" };

beforeAll(async () => {
  server = await startRedis();
  redis = new TcpRedis({ url: server.url });
  const app = createApp({ engine: createEngine({ redis }), auth: { keys: { [KEYS["tenant-a"]]: "tenant-a", [KEYS["tenant-b"]]: "tenant-b" } } });
  http = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  baseUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => http?.close(r));
  await redis?.close();
  await server?.stop();
});

const nodeReady = (tenant: string, dagId: string) => ({ "detail-type": "NodeReady", detail: { tenant, dagId, nodeId: "a", agent: "echo" } });

describe("pushHandler with keys per tenant", () => {
  it("claims and completes each event with the key of the event's tenant, and refuses a tenant it has no key for", async () => {
    const runs: Record<string, string> = {};
    for (const [tenant, key] of Object.entries(KEYS)) {
      runs[tenant] = (await createClient({ baseUrl, apiKey: key }).submit({ nodes: [{ id: "a", agent: "echo" }] })).dagId;
    }
    const lines: string[] = [];
    const handler = pushHandler({ agents: { echo: async (task) => `done ${task.dagId}` }, baseUrl, keys: KEYS, log: (l) => lines.push(l) });
    expect(await handler(nodeReady("tenant-a", runs["tenant-a"]!))).toEqual({ ran: true, outcome: "completed" });
    expect(await handler(nodeReady("tenant-b", runs["tenant-b"]!))).toEqual({ ran: true, outcome: "completed" });
    for (const [tenant, key] of Object.entries(KEYS)) {
      expect((await createClient({ baseUrl, apiKey: key }).getRun(runs[tenant]!)).status).toBe("succeeded");
    }

    expect(await handler(nodeReady("tenant-c", "whatever"))).toEqual({ ran: false, reason: "no API key for tenant tenant-c" });
    expect(lines.join("\n")).toMatch(/refused NodeReady of whatever\/a: tenant "tenant-c" has no key/);
    expect(lines.join("\n")).not.toContain("key-a-0123456789");
  });

  it("with one apiKey, cannot act on another tenant's run (its claim is a 404: ran false)", async () => {
    const dagId = (await createClient({ baseUrl, apiKey: KEYS["tenant-b"] }).submit({ nodes: [{ id: "a", agent: "echo" }] })).dagId;
    const handler = pushHandler({ agents: { echo: async () => "x" }, baseUrl, apiKey: KEYS["tenant-a"], log: () => {} });
    const r = await handler(nodeReady("tenant-b", dagId));
    expect(r).toMatchObject({ ran: false, reason: expect.stringMatching(/^not claimable/) });
  });
});
