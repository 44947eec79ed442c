import { serve, type ServerType } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler as simulated } from "../../functions/agents/simulated.js";
import { configureRuntime, getRuntime, resetRuntime } from "../../functions/config.js";
import { appFor } from "../../functions/http/lambda.js";
import { handler as reconcile } from "../../functions/reconcile.js";
import { InProcessPublisher } from "../../packages/core/src/events/in-process.js";
import { startRedis, type RedisProcess } from "../support/redis.js";

let redis: RedisProcess;
let server: ServerType;
const bus = new InProcessPublisher({ onError: (err) => console.error(err) });

beforeAll(async () => {
  redis = await startRedis();
  await configureRuntime({ env: { REDIS_URL: redis.url, WEFT_DEV_TENANT: "dev" }, publisher: bus });
  const app = appFor(getRuntime());
  server = await new Promise<ServerType>((res) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => res(s));
  });
  process.env.WEFT_API_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.WEFT_SIM_SPEED = "0";
  // Every agent's NodeReady goes to the simulated agent, as infra/subscriptions.ts routes it.
  bus.subscribe({ detailType: ["NodeReady"] }, simulated);
});
afterAll(async () => {
  await bus.drain();
  await new Promise((res) => server.close(res));
  await resetRuntime();
  await redis.stop();
});

describe("the simulated example agents", () => {
  it("drive plan -> 3 research -> write -> review to success over HTTP, retrying the researcher that fails once", async () => {
    const angles = ["market", "competitors", "regulation"];
    const spec = {
      id: "example-1",
      nodes: [
        { id: "plan", agent: "planner", input: { topic: "batteries" } },
        ...angles.map((angle, i) => ({
          id: `research-${angle}`,
          agent: "researcher",
          deps: ["plan"],
          input: { topic: "batteries", angle, ...(i === 1 ? { failFirstAttempt: true } : {}) },
          retry: { maxAttempts: 3, backoffMs: 0 },
        })),
        { id: "write", agent: "writer", deps: angles.map((a) => `research-${a}`), input: { reads: angles.map((a) => `research-${a}`) } },
        { id: "review", agent: "reviewer", deps: ["write"] },
      ],
    };
    const res = await fetch(`${process.env.WEFT_API_URL}/v1/dags`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(spec) });
    expect(res.status).toBe(201);

    let status = "running";
    for (let i = 0; i < 100 && status === "running"; i++) {
      await bus.drain();
      await reconcile(); // a retry becomes ready here and is relayed as NodeReady
      status = (await getRuntime().engine.getRun("dev", "example-1")).status;
    }
    expect(status).toBe("succeeded");
    const run = await getRuntime().engine.getRun("dev", "example-1");
    const byId = Object.fromEntries(run.nodes.map((n) => [n.id, n]));
    expect(byId["research-competitors"]).toMatchObject({ status: "succeeded", attempt: 2 });
    expect(byId["research-market"]).toMatchObject({ status: "succeeded", attempt: 1 });
    expect(byId.review?.output).toMatchObject({ verdict: "approved" });
  });
});
