import { createHash } from "node:crypto";
import { appendFileSync } from "node:fs";

/**
 * The deterministic fake model of this example: the same prompt always gives the same
 * text (words picked by a hash of the prompt), after `latencyMs` of simulated thinking.
 * Nothing leaves the machine. With `log`, every call appends `start <step>` and
 * `done <step>` lines to that file, so a test can count which calls ran to the end.
 *
 *   WEFT_FAKE_LATENCY_MS (default 300)   WEFT_MODEL_LOG (a file; default none)
 */
export interface Model {
  generate(step: string, prompt: string, signal?: AbortSignal): Promise<string>;
}

const WORDS = ["clear", "steady", "bright", "careful", "modest", "bold", "quiet", "exact", "warm", "plain", "swift", "honest"];

export function fakeModel(o: { latencyMs?: number; log?: string } = {}): Model {
  const latencyMs = o.latencyMs ?? 300;
  return {
    async generate(step, prompt, signal) {
      if (o.log) appendFileSync(o.log, `start ${step}\n`);
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, latencyMs);
        signal?.addEventListener("abort", () => (clearTimeout(t), reject(signal.reason)), { once: true });
      });
      const h = createHash("sha256").update(step).update("\0").update(prompt).digest();
      const words = Array.from({ length: 8 }, (_, i) => WORDS[h[i]! % WORDS.length]);
      const subject = /"([^"]+)"/.exec(prompt)?.[1] ?? "the subject";
      if (o.log) appendFileSync(o.log, `done ${step}\n`);
      return `${subject}: ${words.join(" ")}.`;
    },
  };
}

export function modelFromEnv(env: NodeJS.ProcessEnv = process.env): Model {
  const latency = Number(env.WEFT_FAKE_LATENCY_MS ?? 300);
  return fakeModel({ latencyMs: Number.isFinite(latency) ? latency : 300, ...(env.WEFT_MODEL_LOG ? { log: env.WEFT_MODEL_LOG } : {}) });
}
