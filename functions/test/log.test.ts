import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { errorFields, logger } from "../log.js";
import { startRedis, type RedisProcess } from "@weft/test-support";

let redis: RedisProcess;
let client: Redis;
beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
});
afterAll(async () => {
  client.disconnect();
  await redis.stop();
});

function printed(fn: () => void): string {
  let text = "";
  const grab = (chunk: unknown) => ((text += String(chunk)), true);
  const out = vi.spyOn(process.stdout, "write").mockImplementation(grab);
  const err = vi.spyOn(process.stderr, "write").mockImplementation(grab);
  try {
    fn();
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return text;
}

describe("functions/log.ts", () => {
  it("errorFields keeps a Redis error's command name and message, never its arguments", async () => {
    const secret = JSON.stringify({ leaseToken: "1.secret-token", output: "secret-output" });
    const err = await client.eval("return redis.error_reply('ERR refused')", 0, secret).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as { command?: { args?: unknown[] } }).command?.args).toContain(secret); // what ioredis carries
    const fields = errorFields(err);
    expect(fields).toEqual({ error: { name: "ReplyError", message: "ERR refused", command: "eval" } });
    const line = printed(() => logger.error("failed", fields));
    expect(line).not.toMatch(/secret/);
  });

  it("prints one JSON object a line with level, message, service and the call's fields", () => {
    const line = printed(() => logger.warn("relay after write failed", { tenant: "acme", run: "r1" }));
    expect(line.trim().split("\n")).toHaveLength(1);
    expect(JSON.parse(line)).toMatchObject({ level: "WARN", message: "relay after write failed", service: "weft", tenant: "acme", run: "r1", timestamp: expect.any(String) });
  });

  it("prints a readable line instead under WEFT_LOG_FORMAT=text (the local emulator)", () => {
    process.env.WEFT_LOG_FORMAT = "text";
    try {
      const line = printed(() => logger.warn("archive flush failed", { tenant: "acme", run: "r1", error: { name: "Error", message: "no table" } }));
      expect(line).toBe('weft warn  archive flush failed  tenant=acme run=r1 error={"name":"Error","message":"no table"}\n');
    } finally {
      delete process.env.WEFT_LOG_FORMAT;
    }
  });
});
