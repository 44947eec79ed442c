import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeModel, modelFromEnv, ModelRequestError, openAiModel, RateLimitError } from "../model.js";

describe("the example's fake model", () => {
  const model = fakeModel({ latencyMs: 0, rateLimitFirstAttempt: ["research-2"] });
  const req = { system: "You write explainers.", prompt: 'Write about "tidal power" citing [S1.1] and [S2.3].' };

  it("gives the same text for the same prompt and other text for another, about the quoted subject, keeping the citations offered", async () => {
    const a = await model.generate(req);
    expect(await model.generate(req)).toBe(a);
    expect(await fakeModel({ latencyMs: 0 }).generate(req)).toBe(a);
    expect(await model.generate({ ...req, prompt: 'Write about "wave power" citing [S1.1] and [S2.3].' })).not.toBe(a);
    expect(a).toContain("tidal power");
    expect(a).toContain("[S1.1]");
    expect(a).toContain("[S2.3]");
    expect(a.match(/\[S\d+\.\d+\]/g)!.every((c) => c === "[S1.1]" || c === "[S2.3]")).toBe(true);
  });

  it("answers a list request with exactly that many lines (questions when asked for questions)", async () => {
    const questions = await model.generate({ system: "Write research questions.", prompt: 'Topic: "tidal power".', lines: 3 });
    expect(questions.split("\n")).toHaveLength(3);
    expect(new Set(questions.split("\n")).size).toBe(3);
    for (const q of questions.split("\n")) expect(q).toMatch(/tidal power.*\?$/);
  });

  it("refuses the named caller's first attempt with a retryable 429, and nobody else's", async () => {
    const err = await model.generate({ ...req, caller: { nodeId: "research-2", attempt: 1 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err).toMatchObject({ retryable: true, code: 429, name: "RateLimitError" });
    await expect(model.generate({ ...req, caller: { nodeId: "research-2", attempt: 2 } })).resolves.toBeTypeOf("string");
    await expect(model.generate({ ...req, caller: { nodeId: "research-1", attempt: 1 } })).resolves.toBeTypeOf("string");
  });

  it("takes its simulated latency from the environment", async () => {
    const m = modelFromEnv({ WEFT_FAKE_LATENCY_MS: "40" });
    const t0 = Date.now();
    await m.generate(req);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(19);
    expect(m.name).toBe("fake");
  });
});

describe("the example's OpenAI-compatible model", () => {
  let server: Server;
  let url: string;
  const seen: { auth?: string; body: any }[] = [];
  let answer: { status: number; body: unknown } = { status: 200, body: {} };

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        seen.push({ auth: req.headers.authorization, body: req.url === "/v1/chat/completions" ? JSON.parse(body) : { wrongPath: req.url } });
        res.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((res) => server.listen(0, "127.0.0.1", () => res()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/`;
  });
  afterAll(() => new Promise((res) => server.close(res)));

  it("is chosen by WEFT_MODEL=openai and posts a chat completion with the key and model named there", async () => {
    const m = modelFromEnv({ WEFT_MODEL: "openai", OPENAI_API_KEY: "sk-test", WEFT_MODEL_NAME: "small-1", OPENAI_BASE_URL: url });
    expect(m.name).toBe("openai:small-1");
    answer = { status: 200, body: { choices: [{ message: { content: "1. First question?\n\n2) Second question?\n- Third?\nFourth?" } }] } };
    const text = await m.generate({ system: "sys", prompt: "plan it", lines: 3 });
    expect(text).toBe("First question?\nSecond question?\nThird?");
    const call = seen.at(-1)!;
    expect(call.auth).toBe("Bearer sk-test");
    expect(call.body).toMatchObject({ model: "small-1", messages: [{ role: "system", content: "sys" }, { role: "user" }] });
    expect(call.body.messages[1].content).toMatch(/^plan it\n\nAnswer with exactly 3 lines/);
  });

  it("maps a 429 to a retryable error and other 4xx to a final one", async () => {
    const m = openAiModel({ apiKey: "sk", model: "small-1", baseUrl: url });
    answer = { status: 429, body: { error: { message: "slow down" } } };
    await expect(m.generate({ system: "s", prompt: "p" })).rejects.toBeInstanceOf(RateLimitError);
    answer = { status: 401, body: { error: { message: "bad key" } } };
    const err = await m.generate({ system: "s", prompt: "p" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelRequestError);
    expect(err).toMatchObject({ retryable: false, code: 401 });
    answer = { status: 503, body: {} };
    const unavailable = await m.generate({ system: "s", prompt: "p" }).catch((e: unknown) => e);
    expect((unavailable as { retryable?: boolean }).retryable).toBeUndefined();
  });

  it("refuses an unknown WEFT_MODEL or a missing key instead of silently using the fake", () => {
    expect(() => modelFromEnv({ WEFT_MODEL: "gpt" })).toThrow(/WEFT_MODEL/);
    expect(() => modelFromEnv({ WEFT_MODEL: "openai" })).toThrow(/OPENAI_API_KEY/);
  });
});
