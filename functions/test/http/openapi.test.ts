import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler as api } from "../../api.js";
import { configureRuntime, resetRuntime } from "../../config.js";
import { startRedis, type RedisProcess } from "@weft/test-support";
import { invoke } from "./harness.js";

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
  await configureRuntime({ env: { REDIS_URL: redis.url, WEFT_API_KEYS: "k-0123456789:acme" } });
});
afterAll(async () => {
  await resetRuntime();
  await redis.stop();
});

describe("GET /openapi.json", () => {
  it("needs no API key and documents every route of the contract", async () => {
    const r = await invoke(api, "GET", "/openapi.json", { key: "" });
    expect(r.status).toBe(200);
    expect(r.json.openapi).toMatch(/^3\./);
    // The state routes are mounted on the same app and documented too; these are the engine's.
    expect(Object.fromEntries(Object.entries(r.json.paths).map(([p, ops]) => [p, Object.keys(ops as object).sort()]))).toMatchObject({
      "/v1/dags": ["get", "post"],
      "/v1/dags/{dagId}": ["get"],
      "/v1/dags/{dagId}/history": ["get"],
      "/v1/dags/{dagId}/redrive": ["post"],
      "/v1/dags/{dagId}/rewind": ["post"],
      "/v1/dags/{dagId}/cancel": ["post"],
      "/v1/dags/{dagId}/events": ["get"],
      "/v1/agents/{agent}/claim": ["post"],
      "/v1/dags/{dagId}/nodes/{nodeId}/claim": ["post"],
      "/v1/dags/{dagId}/nodes/{nodeId}/complete": ["post"],
      "/v1/dags/{dagId}/nodes/{nodeId}/fail": ["post"],
      "/v1/dags/{dagId}/nodes/{nodeId}/heartbeat": ["post"],
      "/v1/dags/{dagId}/watch-token": ["post"],
      // Served by the Stream function (functions/live/routes.ts), documented here all the same.
      "/v1/dags/{dagId}/events/stream": ["get"],
      "/v1/events/stream": ["get"],
    });
    const stream = r.json.paths["/v1/dags/{dagId}/events/stream"].get;
    expect(Object.keys(stream.responses["200"].content)).toEqual(["text/event-stream"]);
    expect(stream.parameters.map((p: { in: string; name: string }) => `${p.in}:${p.name}`).sort()).toEqual(["header:last-event-id", "path:dagId", "query:after", "query:token"]);
    expect(r.json.paths["/v1/dags/{dagId}/watch-token"].post.responses["200"].content["application/json"].schema.$ref).toBe("#/components/schemas/WatchToken");
    expect(Object.keys(r.json.paths)).toEqual(expect.arrayContaining(["/v1/state/{namespace}/{key}", "/v1/dags/{dagId}/state/{key}"]));
    expect(r.json.components.securitySchemes.apiKey).toMatchObject({ type: "http", scheme: "bearer" });
    // Scaling signals: their schemas, the window and the agent name as parameters.
    const agents = r.json.paths["/v1/agents"].get;
    const agent = r.json.paths["/v1/agents/{agent}"].get;
    expect(agents.responses["200"].content["application/json"].schema.$ref).toBe("#/components/schemas/AgentSignals");
    expect(agent.responses["200"].content["application/json"].schema.$ref).toBe("#/components/schemas/AgentSignalAt");
    expect(agents.parameters.map((p: { in: string; name: string }) => `${p.in}:${p.name}`)).toEqual(["query:within"]);
    expect(agent.parameters.map((p: { in: string; name: string }) => `${p.in}:${p.name}`).sort()).toEqual(["path:agent", "query:within"]);
    expect(agent.parameters.find((p: { name: string }) => p.name === "agent").schema).toMatchObject({ pattern: "^[A-Za-z0-9_.-]{1,128}$" });
    expect(Object.keys(r.json.components.schemas.AgentSignal.properties).sort()).toEqual(["agent", "leasesExpiringSoon", "oldestReadyAgeMs", "oldestReadyAt", "ready", "running"]);
    expect(Object.keys(r.json.paths["/v1/dags"].post.responses).sort()).toEqual(["200", "201", "400", "401", "409", "413", "415", "422", "429", "503"]);
  });

  it("documents the very limits the validator enforces", async () => {
    const doc = (await invoke(api, "GET", "/openapi.json", { key: "" })).json;
    const max = doc.components.schemas.ClaimRequest.properties.max;
    expect(max).toMatchObject({ type: "integer", minimum: 1, maximum: 1000 });
    const over = await invoke(api, "POST", "/v1/agents/ag/claim", { key: "k-0123456789", body: { max: max.maximum + 1 } });
    expect(over).toMatchObject({ status: 400, json: { error: { field: "max" } } });
    const at = await invoke(api, "POST", "/v1/agents/ag/claim", { key: "k-0123456789", body: { max: max.maximum } });
    expect(at).toMatchObject({ status: 200, json: { tasks: [] } });

    const submit = doc.paths["/v1/dags"].post.requestBody.content["application/json"].schema;
    const spec = submit.$ref ? doc.components.schemas[submit.$ref.split("/").pop()] : submit;
    expect(spec.required).toContain("nodes");
    // A node needs an agent, or a wait (a node no agent runs): id is the one field every node has.
    expect(spec.properties.nodes.items.required).toEqual(["id"]);
    expect(Object.keys(spec.properties.nodes.items.properties)).toEqual(expect.arrayContaining(["agent", "wait"]));
  });
});
