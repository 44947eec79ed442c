import { createHash } from "node:crypto";

/**
 * The language model the pipeline's agents call, behind one small interface: a
 * deterministic fake (the default: offline, free, the same prompt always gives the same
 * text) or an OpenAI-compatible chat completions endpoint, chosen by the environment.
 *
 *   WEFT_MODEL=fake (default)   WEFT_FAKE_LATENCY_MS   simulated think time per call (default 300)
 *   WEFT_MODEL=openai           OPENAI_API_KEY, WEFT_MODEL_NAME (default gpt-4o-mini),
 *                               OPENAI_BASE_URL (default https://api.openai.com/v1; any compatible server)
 */
export interface ModelRequest {
  system: string;
  /** Put the subject in double quotes: the fake model writes about the first quoted phrase. */
  prompt: string;
  /** `lines: n` asks for exactly n lines (a list, one item a line); default free prose. */
  lines?: number;
  /** With `lines`: as few as this many lines, as many as `lines`; the model decides. */
  minLines?: number;
  maxTokens?: number;
  /** Who is asking (the node id) and which attempt: logged, and the fake's 429 rule reads them. */
  caller?: { nodeId: string; attempt: number };
  signal?: AbortSignal;
}

export interface Model {
  /** Provider and model, e.g. `fake` or `openai:gpt-4o-mini`. */
  readonly name: string;
  generate(req: ModelRequest): Promise<string>;
}

/** The provider refused for now (HTTP 429, or the fake's simulated one): retryable. */
export class RateLimitError extends Error {
  override readonly name = "RateLimitError";
  /** Recorded with the node's error. */
  readonly code = 429;
  readonly retryable = true;
}

/** A request the provider will never accept (bad key, unknown model): retrying cannot help. */
export class ModelRequestError extends Error {
  override readonly name = "ModelRequestError";
  readonly retryable = false;
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

export interface FakeModelOptions {
  /** Simulated think time per call, in ms (spread 0.5x to 1.5x, from the prompt's hash). */
  latencyMs?: number;
  /** Callers (node ids) whose first attempt is refused with a simulated 429, to show a retry. */
  rateLimitFirstAttempt?: readonly string[];
}

/** Reads WEFT_MODEL and its settings; unknown values are an error, not a silent fake. */
export function modelFromEnv(env: NodeJS.ProcessEnv = process.env, fake: FakeModelOptions = {}): Model {
  const kind = (env.WEFT_MODEL ?? "fake").trim().toLowerCase();
  if (kind === "fake" || kind === "") {
    const latency = env.WEFT_FAKE_LATENCY_MS === undefined ? undefined : Number(env.WEFT_FAKE_LATENCY_MS);
    return fakeModel({ ...fake, ...(latency !== undefined && Number.isFinite(latency) ? { latencyMs: latency } : {}) });
  }
  if (kind === "openai") {
    const apiKey = env.OPENAI_API_KEY;
    if (!apiKey) throw new Error("WEFT_MODEL=openai needs OPENAI_API_KEY");
    return openAiModel({ apiKey, model: env.WEFT_MODEL_NAME || "gpt-4o-mini", ...(env.OPENAI_BASE_URL ? { baseUrl: env.OPENAI_BASE_URL } : {}) });
  }
  throw new Error(`WEFT_MODEL must be "fake" or "openai", got "${env.WEFT_MODEL}"`);
}

// ---- the fake: text from a hash of the prompt

const OPENERS = ["Recent evidence suggests", "Industry reports indicate", "Several analysts note", "Official figures show", "Field studies find", "Experts broadly agree"];
const VERBS = ["is reshaping", "depends heavily on", "is constrained by", "benefits from", "is accelerating alongside", "remains sensitive to"];
const OBJECTS = [
  "falling component costs",
  "the regulatory framework",
  "grid capacity and interconnection",
  "consumer demand and financing",
  "supply-chain concentration",
  "public subsidies and tax incentives",
  "competition from established players",
  "long-term reliability data",
];
const QUALIFIERS = ["over the last five years", "in most large markets", "although the data are still uneven", "with clear regional differences", "according to the latest figures", "more than commonly assumed"];
const QUESTIONS = [
  "How large is the market for %s today, and how fast is it growing?",
  "Who are the main players in %s, and how do they compete?",
  "Which rules and policies shape %s?",
  "What are the technical limits and open risks of %s?",
  "What do customers actually pay for %s, and why?",
  "How does %s compare across countries, and what explains the gaps?",
];

export function fakeModel(o: FakeModelOptions = {}): Model {
  const latency = o.latencyMs ?? 300;
  const limited = new Set(o.rateLimitFirstAttempt ?? []);
  return {
    name: "fake",
    async generate(req) {
      const seed = createHash("sha256").update(`${req.system}\n${req.prompt}\n${req.lines ?? ""}`).digest();
      const rand = prng(seed.readUInt32BE(0));
      if (latency > 0) await sleep(latency * (0.5 + rand()), req.signal);
      if (req.caller && req.caller.attempt === 1 && limited.has(req.caller.nodeId)) {
        throw new RateLimitError(`429 Too Many Requests (simulated, ${req.caller.nodeId} attempt 1): retry later`);
      }
      const subject = /"([^"]{2,120})"/.exec(req.prompt)?.[1] ?? "the subject";
      // Keep whatever citation markers ([S1.2]) the prompt offers, so drafts cite real sources.
      const cites = [...new Set(req.prompt.match(/\[S\d+(?:\.\d+)?\]/g) ?? [])];
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
      if (req.lines) {
        const offset = Math.floor(rand() * QUESTIONS.length);
        const min = Math.min(req.minLines ?? req.lines, req.lines);
        const count = min + Math.floor(rand() * (req.lines - min + 1));
        return Array.from({ length: count }, (_, i) =>
          /question/i.test(req.system) ? QUESTIONS[(offset + i) % QUESTIONS.length]!.replace("%s", subject) : sentence(subject, pick),
        ).join("\n");
      }
      // A first draft (asked to cite every claim) also cites one source nobody found, [S0.1]:
      // the kind of slip the pipeline's fact-check exists to catch, so its review loop runs.
      const invent = cites.length > 0 && /cite every claim/i.test(req.system);
      const paragraphs = Array.from({ length: 3 }, (_, p) => {
        const n = 2 + Math.floor(rand() * 2);
        return Array.from({ length: n }, (_, i) => {
          const cite = cites.length ? ` ${cites[(p * 3 + i) % cites.length]}` : "";
          const made = invent && p === 0 && i === 0 ? " [S0.1]" : "";
          return `${sentence(subject, pick).replace(/\.$/, "")}${cite}${made}.`;
        }).join(" ");
      });
      return paragraphs.join("\n\n");
    },
  };
}

function sentence(subject: string, pick: <T>(xs: readonly T[]) => T): string {
  return `${pick(OPENERS)} that ${subject} ${pick(VERBS)} ${pick(OBJECTS)}, ${pick(QUALIFIERS)}.`;
}

/** mulberry32: a tiny seeded generator, so the same seed gives the same text everywhere. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), reject(signal.reason)), { once: true });
  });
}

// ---- a real provider: OpenAI's chat completions API (or any server that speaks it)

export interface OpenAiOptions {
  apiKey: string;
  model: string;
  baseUrl?: string;
  fetch?: typeof fetch;
}

export function openAiModel(o: OpenAiOptions): Model {
  const url = `${(o.baseUrl ?? "https://api.openai.com/v1").replace(/\/+$/, "")}/chat/completions`;
  const doFetch = o.fetch ?? fetch;
  return {
    name: `openai:${o.model}`,
    async generate(req) {
      const count = req.lines && req.minLines !== undefined && req.minLines < req.lines ? `between ${req.minLines} and ${req.lines}` : `exactly ${req.lines}`;
      const format = req.lines ? `\n\nAnswer with ${count} lines, one item per line, no numbering and nothing else.` : "";
      const res = await doFetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${o.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({
          model: o.model,
          messages: [
            { role: "system", content: req.system },
            { role: "user", content: req.prompt + format },
          ],
          max_tokens: req.maxTokens ?? 800,
          temperature: 0.3,
        }),
        ...(req.signal ? { signal: req.signal } : {}),
      });
      const text = await res.text();
      if (res.status === 429) throw new RateLimitError(`429 from ${o.model}: ${text.slice(0, 200)}`);
      // Other 4xx (bad key, unknown model, request too large) will not get better on a retry.
      if (res.status >= 400 && res.status < 500) throw new ModelRequestError(`${res.status} from ${o.model}: ${text.slice(0, 200)}`, res.status);
      if (!res.ok) throw new Error(`${res.status} from ${o.model}: ${text.slice(0, 200)}`);
      const content = (JSON.parse(text) as { choices?: { message?: { content?: string } }[] }).choices?.[0]?.message?.content;
      if (typeof content !== "string") throw new Error(`${o.model} returned no message content`);
      if (!req.lines) return content.trim();
      // Models number their lists anyway: strip "1." / "-" and keep the first n non-empty lines.
      const lines = content.split("\n").map((l) => l.replace(/^\s*(?:\d+[.)]|[-*•])\s*/, "").trim()).filter(Boolean);
      return lines.slice(0, req.lines).join("\n");
    },
  };
}
