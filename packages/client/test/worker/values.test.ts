import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createClient, worker } from "@weft/client";
import { MAX_VALUE_BYTES } from "@weft/core/sdk";
import { agentName, finished, nodeOf, withWorker, useLocal } from "./harness.js";

/**
 * Large outputs through a pull worker against the local emulation (its s3rver included): an
 * output over 1 MB is uploaded to a presigned URL and completed by reference, and the child's
 * parents() gets the value back, inlined by the API or read from the URL it handed out.
 */
const { local, client } = useLocal();

const bigText = (bytes: number) => randomBytes(Math.ceil((bytes * 3) / 4)).toString("base64").slice(0, bytes);

/** A client whose requests are all recorded (method and path, and the body's size by path), over plain fetch. */
function recording() {
  const seen: string[] = [];
  const sent = new Map<string, number>();
  const fetchy: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    seen.push(`${init?.method ?? "GET"} ${url.pathname}`);
    if (typeof init?.body === "string") sent.set(`${init?.method ?? "GET"} ${url.pathname}`, Buffer.byteLength(init.body));
    return fetch(input, init);
  };
  return { seen, sent, client: createClient({ baseUrl: local().baseUrl, fetch: fetchy }) };
}

describe("large outputs through the worker", () => {
  it.each([
    ["5 MB (inlined in the parents' answer)", 5_000_000],
    ["8 MB (past what one answer inlines: read from its URL)", 8_000_000],
  ])("a %s output is uploaded, completed by reference, and parents() gives it back", async (_label, bytes) => {
    const agent = agentName("big");
    const output = { text: bigText(bytes) };
    const json = JSON.stringify(output);
    let seenByChild: unknown;
    const rec = recording();
    const w = worker({
      client: rec.client,
      agents: {
        [agent]: async (task, ctx) => {
          if (task.nodeId === "a") return output;
          seenByChild = (await ctx.parents()).a;
          return "read";
        },
      },
      pollMs: 30,
      log: () => {},
    });
    await withWorker(w, async () => {
      const { dagId } = await client().submit({ nodes: [{ id: "a", agent }, { id: "b", agent, deps: ["a"] }] });
      const run = await finished(client(), dagId, 30_000);
      expect(nodeOf(run, "b")).toMatchObject({ status: "succeeded", output: "read" });
      expect(seenByChild).toEqual(output);
      // getRun resolves it too (through the URL when past the inline budget).
      expect(nodeOf(run, "a").output).toEqual(output);
      // Uploaded, not sent in the completion: the request went to S3, keyed by the JSON's hash.
      expect(rec.seen).toContain(`POST /v1/dags/${dagId}/nodes/a/uploads`);
      const raw = await fetch(`${local().baseUrl}/v1/dags/${dagId}?values=url`).then((r) => r.json());
      const ref = nodeOf(raw as { nodes: { id: string }[] }, "a") as unknown as { output: { $weftValue: { key: string; bytes: number } } };
      expect(ref.output.$weftValue).toMatchObject({ bytes: Buffer.byteLength(json), key: expect.stringContaining(createHash("sha256").update(json).digest("hex")) });
    });
  }, 60_000);

  it("a small output is sent in the completion, no upload", async () => {
    const agent = agentName("small");
    const rec = recording();
    const w = worker({ client: rec.client, agents: { [agent]: () => ({ text: bigText(300_000) }) }, pollMs: 30, log: () => {} });
    await withWorker(w, async () => {
      const { dagId } = await client().submit({ nodes: [{ id: "a", agent }] });
      expect(nodeOf(await finished(client(), dagId), "a").status).toBe("succeeded");
      expect(rec.seen.filter((s) => s.endsWith("/uploads"))).toEqual([]);
    });
  });

  it("an output over 100 MB fails the node without a retry, naming the output, and nothing is uploaded", async () => {
    const agent = agentName("huge");
    const rec = recording();
    const w = worker({ client: rec.client, agents: { [agent]: () => "x".repeat(MAX_VALUE_BYTES) }, pollMs: 30, log: () => {} });
    await withWorker(w, async () => {
      const { dagId } = await client().submit({ nodes: [{ id: "a", agent, retry: { maxAttempts: 3, backoffMs: 0 } }] });
      const run = await finished(client(), dagId, 30_000);
      expect(nodeOf(run, "a")).toMatchObject({ status: "failed", attempt: 1, error: { name: "PayloadTooLargeError", message: expect.stringContaining("output has") } });
      expect(rec.seen.filter((s) => s.endsWith("/uploads") || s.endsWith("/complete"))).toEqual([]);
    });
  }, 60_000);
});

describe("large inputs from the client", () => {
  it("a submit's 3 MB input is uploaded and sent by reference under the id the client gave the run; the task gets the value", async () => {
    const agent = agentName("bigin");
    const input = { text: bigText(3_000_000) };
    const json = JSON.stringify(input);
    const rec = recording();
    const { dagId, created } = await rec.client.submit({ nodes: [{ id: "a", agent, input }, { id: "b", agent, input: "small" }] });
    expect(created).toBe(true);
    expect(dagId).toMatch(/^dag_[0-9a-f]{24}$/);
    expect(rec.seen).toContain(`POST /v1/dags/${dagId}/nodes/a/uploads`);
    expect(rec.seen.filter((s) => s.endsWith("/uploads"))).toHaveLength(1);
    // The submit itself carried the reference, not the 3 MB.
    expect(rec.sent.get("POST /v1/dags")).toBeLessThan(10_000);
    const raw = (await fetch(`${local().baseUrl}/v1/dags/${dagId}?include=input&values=url`).then((r) => r.json())) as { nodes: { id: string; input: unknown }[] };
    expect(nodeOf(raw, "a").input).toMatchObject({ $weftValue: { bytes: Buffer.byteLength(json), key: expect.stringContaining(`/${dagId}/a/input-${createHash("sha256").update(json).digest("hex")}`) } });
    expect(nodeOf(raw, "b").input).toBe("small");
    const tasks = await client().claim(agent, { max: 2 });
    expect(tasks.find((t) => t.nodeId === "a")?.input).toEqual(input);
    // Submitted again with the id it got: the same run, not a second one.
    expect(await rec.client.submit({ id: dagId, nodes: [{ id: "a", agent, input }, { id: "b", agent, input: "small" }] })).toMatchObject({ dagId, created: false });
  }, 60_000);

  it("with only the caller's idempotencyKey the input goes in the body (the API derives the id and moves it to S3)", async () => {
    const agent = agentName("keyin");
    const input = { text: bigText(2_000_000) };
    const rec = recording();
    const { dagId } = await rec.client.submit({ idempotencyKey: agentName("key"), nodes: [{ id: "a", agent, input }] });
    expect(rec.seen.filter((s) => s.endsWith("/uploads"))).toEqual([]);
    expect(rec.sent.get("POST /v1/dags")).toBeGreaterThan(2_000_000);
    const raw = (await fetch(`${local().baseUrl}/v1/dags/${dagId}?include=input&values=url`).then((r) => r.json())) as { nodes: { id: string; input: unknown }[] };
    expect(nodeOf(raw, "a").input).toMatchObject({ $weftValue: { key: expect.stringContaining(`/${dagId}/a/input-`) } });
    expect((await client().claim(agent))[0]?.input).toEqual(input);
  }, 60_000);

  it("addNodes uploads a large input of an added node; one over 100 MB is refused naming it, before anything is sent", async () => {
    const agent = agentName("addin");
    const { dagId } = await client().submit({ nodes: [{ id: "a", agent }] });
    const input = { text: bigText(1_500_000) };
    const rec = recording();
    await rec.client.addNodes(dagId, { nodes: [{ id: "x", agent, deps: ["a"], input }] });
    expect(rec.seen).toEqual([`POST /v1/dags/${dagId}/nodes/x/uploads`, expect.stringMatching(/^PUT /), `POST /v1/dags/${dagId}/nodes`]);
    expect(rec.sent.get(`POST /v1/dags/${dagId}/nodes`)).toBeLessThan(10_000);
    const run = (await fetch(`${local().baseUrl}/v1/dags/${dagId}?include=input`).then((r) => r.json())) as { nodes: { id: string; input: unknown }[] };
    expect(nodeOf(run, "x").input).toEqual(input);
    rec.seen.length = 0;
    const err = await rec.client.addNodes(dagId, { nodes: [{ id: "y", agent, input: "x".repeat(MAX_VALUE_BYTES) }] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "payload_too_large", field: "nodes[0].input" });
    expect(rec.seen).toEqual([]);
  }, 60_000);
});
