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

/** A client whose requests are all recorded (method and path), over plain fetch. */
function recording() {
  const seen: string[] = [];
  const fetchy: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    seen.push(`${init?.method ?? "GET"} ${url.pathname}`);
    return fetch(input, init);
  };
  return { seen, client: createClient({ baseUrl: local().baseUrl, fetch: fetchy }) };
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
