import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PayloadTooLargeError } from "@weft/core";
import { createS3ValueStore, type ValueStore } from "@weft/core/values";
import { MAX_VALUE_BYTES } from "@weft/core/values";
import { startS3, type S3Server } from "@weft/test-support";

/** The S3 value store against a real S3-compatible server (s3rver). */
let s3: S3Server;
let store: ValueStore;
beforeAll(async () => {
  s3 = await startS3();
  store = createS3ValueStore({ bucket: s3.bucket, endpoint: s3.endpoint });
});
afterAll(async () => {
  await s3?.stop();
});

const owner = (dagId: string, nodeId: string, field: "input" | "output" = "output") => ({ tenant: "acme", dagId, nodeId, field });

describe("large values in S3", () => {
  it("round-trips a 5 MB output byte for byte, also through a presigned read URL", async () => {
    const json = JSON.stringify({ text: "é-weft ".repeat(700_000) });
    expect(Buffer.byteLength(json)).toBeGreaterThan(5 * 1024 * 1024);
    const stored = await store.put(owner("big", "a"), json);
    expect(stored).toMatchObject({ bytes: Buffer.byteLength(json), key: expect.stringMatching(/^weft\/acme\/big\/a\/output-/) });
    expect(await store.get(stored)).toBe(json);
    const res = await fetch(await store.readUrl(stored));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(json);
  });

  it("hands out an upload URL a client puts the value to, read back by its reference", async () => {
    const json = JSON.stringify({ uploaded: "x".repeat(300_000) });
    const { url, value } = await store.uploadUrl(owner("up", "a", "input"), Buffer.byteLength(json));
    const put = await fetch(url, { method: "PUT", body: json, headers: { "content-type": "application/json" } });
    expect(put.status).toBe(200);
    expect(await store.get(value)).toBe(json);
  });

  it("refuses a value over 100 MB with a 413 error naming the field, writing nothing", async () => {
    const err = await store.uploadUrl(owner("huge", "a", "input"), MAX_VALUE_BYTES + 1).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect(err).toMatchObject({ field: "input", message: expect.stringContaining("node a") });
    expect(await store.deleteRun("acme", "huge")).toBe(0);
  });

  it("deletes every object of a run when its retention ends, and only that run's", async () => {
    for (const n of ["a", "b", "c"]) await store.put(owner("gone", n), JSON.stringify({ n }));
    const kept = await store.put(owner("gone-not", "a"), "1");
    expect(await store.deleteRun("acme", "gone")).toBe(3);
    expect(await store.deleteRun("acme", "gone")).toBe(0);
    expect(await store.get(kept)).toBe("1");
  });
});
