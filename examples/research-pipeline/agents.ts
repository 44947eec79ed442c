import { NonRetryableError, type Agents, type TaskContext } from "@weft/client";
import { articleKey, quorum, RATE_LIMITED_NODE, REVIEW_ROUNDS, retryPolicy } from "./dag.js";
import { modelFromEnv, type Model } from "./model.js";

/**
 * The pipeline's seven agents. Each reads its inputs from its parents' outputs
 * (ctx.parents()) and the run's shared state, calls the model, and returns its output;
 * a thrown error fails the attempt (retried unless it is marked non-retryable).
 *
 * Two of them grow the run (dag.ts draws it): the planner adds one researcher per
 * question and the draft that joins them; the fact-checker adds a revision and a second
 * check when the draft cites a source nobody found. What they add is sent with their
 * output and applied in the same step (ctx.spawn, ctx.add).
 *
 * Shared state: researchers add their sources to the run-scoped `sources` document with
 * compare-and-set (three of them write it at the same time; none loses another's), the
 * fact-checker and the publisher read it, and the publisher files the article in the
 * tenant's `articles` namespace, where it outlives the run.
 *
 * `weft worker examples/research-pipeline/agents.ts` runs these in pull mode;
 * push.ts serves them from a Lambda subscribed to NodeReady.
 */

export interface Plan {
  topic: string;
  questions: string[];
}
export interface Source {
  /** `S<researcher>.<n>`, cited in the text as [S2.1]. */
  id: string;
  node: string;
  claim: string;
  url: string;
}
export interface Research {
  question: string;
  findings: { source: string; text: string }[];
}
export interface SourcesDoc {
  sources: Source[];
}
export interface FactCheck {
  verdict: "pass" | "revise";
  cited: string[];
  /** Cited but not among the run's sources: the editor removes them. */
  unsupported: string[];
  uncited: string[];
  notes: string;
}
export interface Edited {
  title: string;
  body: string;
}
export interface Article extends Edited {
  topic: string;
  references: { id: string; url: string; claim: string }[];
  words: number;
  model: string;
}

type Input = {
  topic?: string;
  minQuestions?: number;
  maxQuestions?: number;
  question?: number;
  round?: number;
  namespace?: string;
  /** First retry delay of the nodes an agent adds (the run's own, passed down). */
  retryBackoffMs?: number;
};

const CITATION = /\[(S\d+\.\d+)\]/g;

export function createAgents(model: () => Model): Agents {
  const caller = (ctx: TaskContext) => ({ nodeId: ctx.task.nodeId, attempt: ctx.task.attempt });
  const inputOf = (ctx: TaskContext) => (ctx.task.input ?? {}) as Input;
  const topicOf = (ctx: TaskContext) => {
    const topic = inputOf(ctx).topic;
    if (!topic) throw new NonRetryableError(`${ctx.task.nodeId}: input.topic is missing`);
    return topic;
  };

  return {
    async planner(_task, ctx): Promise<Plan> {
      const topic = topicOf(ctx);
      const input = inputOf(ctx);
      const min = input.minQuestions ?? 2;
      const max = input.maxQuestions ?? 6;
      const text = await model().generate({
        system: "You plan research for a short, well-sourced article. Write research questions, each answerable on its own.",
        prompt: `Topic: "${topic}". Write as many distinct research questions as the topic needs, at least ${min} and at most ${max}, that together cover it.`,
        lines: max,
        minLines: min,
        caller: caller(ctx),
        signal: ctx.signal,
      });
      const questions = [...new Set(lines(text))].slice(0, max);
      // A model that ignored the format: another attempt may do better.
      if (questions.length < min) throw new Error(`the planner returned ${questions.length} questions, at least ${min} needed`);
      const retry = retryPolicy(input.retryBackoffMs);
      // One researcher per question; one that fails for good is tolerated by draft's join.
      const researchers = ctx.spawn(
        { id: "research", agent: "researcher", onFailure: "continue", retry, input: (_q, i) => ({ topic, question: i }) },
        questions,
      );
      ctx.add({
        nodes: [{ id: "draft", agent: "drafter", deps: researchers, join: { min: quorum(researchers.length) }, input: { topic }, retry }],
        deps: { "fact-check": ["draft"], edit: ["draft"] },
      });
      return { topic, questions };
    },

    async researcher(_task, ctx): Promise<Research> {
      const topic = topicOf(ctx);
      const i = inputOf(ctx).question ?? 0;
      const { plan } = (await ctx.parents()) as { plan: Plan };
      const question = plan.questions[i];
      if (!question) throw new NonRetryableError(`the plan has no question ${i}`);
      const text = await model().generate({
        system: "You are a careful researcher. State findings, one per line, each a single factual sentence with no preamble.",
        prompt: `Research question about "${topic}": ${question}\nList 3 findings.`,
        lines: 3,
        caller: caller(ctx),
        signal: ctx.signal,
      });
      // A real pipeline would call a search tool here; the fake world files each finding under a stable URL.
      const sources: Source[] = lines(text).map((claim, j) => ({
        id: `S${i + 1}.${j + 1}`,
        node: ctx.task.nodeId,
        claim,
        url: `https://sources.example/${articleKey(topic)}/${i + 1}-${j + 1}`,
      }));
      // Read, merge, compare-and-set: a retry replaces its own entries instead of adding twice.
      await ctx.state.update<SourcesDoc>("sources", (doc) => {
        const mine = new Set(sources.map((s) => s.id));
        const others = (doc?.sources ?? []).filter((s) => !mine.has(s.id));
        return { sources: [...others, ...sources].sort((a, b) => a.id.localeCompare(b.id, "en", { numeric: true })) };
      });
      return { question, findings: sources.map((s) => ({ source: s.id, text: s.claim })) };
    },

    async drafter(_task, ctx): Promise<{ draft: string; without: string[] }> {
      const topic = topicOf(ctx);
      // A join: it runs once enough researchers succeeded; the others are named, not waited for.
      const research = Object.entries((await ctx.parents()) as Record<string, Research>).sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true }));
      const without = Object.keys(await ctx.notSucceeded());
      const notes = research
        .map(([, r]) => `Q: ${r.question}\n${r.findings.map((f) => `- ${f.text} [${f.source}]`).join("\n")}`)
        .join("\n\n");
      const draft = await model().generate({
        system: "You write clear, neutral explainers. Cite every claim with its source marker, e.g. [S1.2]; cite nothing else.",
        prompt: `Write a three-paragraph article about "${topic}" from these research notes:\n\n${notes}`,
        maxTokens: 900,
        caller: caller(ctx),
        signal: ctx.signal,
      });
      return { draft, without };
    },

    async reviser(_task, ctx): Promise<{ draft: string }> {
      const topic = topicOf(ctx);
      const parents = (await ctx.parents()) as { draft: { draft: string }; "fact-check": FactCheck };
      const check = parents["fact-check"];
      // Hand the model the draft without the markers that point nowhere, and the sources that exist.
      const cleaned = parents.draft.draft.replace(CITATION, (m, id: string) => (check.unsupported.includes(id) ? "" : m));
      const draft = await model().generate({
        system: "You revise an article after a fact-check. Keep every supported claim and its marker; drop what no source supports.",
        prompt: `Revise this article about "${topic}". Sources that do not exist: ${check.unsupported.join(", ")}.\n\n${cleaned}`,
        maxTokens: 900,
        caller: caller(ctx),
        signal: ctx.signal,
      });
      return { draft };
    },

    async "fact-checker"(_task, ctx): Promise<FactCheck> {
      const topic = topicOf(ctx);
      const round = inputOf(ctx).round ?? 1;
      const parents = (await ctx.parents()) as { draft?: { draft: string }; revise?: { draft: string } };
      const draft = (parents.revise ?? parents.draft)?.draft;
      if (draft === undefined) throw new NonRetryableError(`${ctx.task.nodeId}: no draft among its parents`);
      const sources = (await sourcesOf(ctx)).map((s) => s.id);
      const cited = [...new Set([...draft.matchAll(CITATION)].map((m) => m[1]!))];
      const unsupported = cited.filter((id) => !sources.includes(id));
      const uncited = sources.filter((id) => !cited.includes(id));
      // The mechanical check decides the verdict; the model's review is advice for the editor.
      const notes = await model().generate({
        system: "You are a fact-checker. Point out claims that their cited source does not support, briefly.",
        prompt: `Check this draft about "${topic}" against its sources.\n\nDraft:\n${draft}\n\nSources: ${sources.join(", ")}`,
        maxTokens: 400,
        caller: caller(ctx),
        signal: ctx.signal,
      });
      const verdict = unsupported.length ? "revise" : "pass";
      if (verdict === "revise" && round < REVIEW_ROUNDS) {
        // A review loop, bounded: revise, check again; edit waits for both.
        const retry = retryPolicy(inputOf(ctx).retryBackoffMs);
        const next = `fact-check-${round + 1}`;
        ctx.add({
          nodes: [
            { id: "revise", agent: "reviser", deps: ["draft", ctx.task.nodeId], input: { topic }, retry },
            { id: next, agent: "fact-checker", deps: ["revise"], input: { topic, round: round + 1 }, retry },
          ],
          deps: { edit: ["revise", next] },
        });
      }
      return { verdict, cited, unsupported, uncited, notes };
    },

    async editor(_task, ctx): Promise<Edited> {
      const topic = topicOf(ctx);
      const parents = (await ctx.parents()) as Record<string, unknown>;
      // The latest round: the revision and its check when the fact-check asked for one.
      const draft = ((parents.revise ?? parents.draft) as { draft: string }).draft;
      const check = (parents[`fact-check-${REVIEW_ROUNDS}`] ?? parents["fact-check"]) as FactCheck;
      const body = await model().generate({
        system: "You are an editor. Tighten the prose, keep the citation markers, and remove any sentence citing an unsupported source.",
        prompt: `Edit this article about "${topic}".\nUnsupported sources: ${check.unsupported.join(", ") || "none"}.\nFact-checker's notes: ${check.notes}\n\n${draft}`,
        maxTokens: 900,
        caller: caller(ctx),
        signal: ctx.signal,
      });
      // Never publish a citation the fact-checker could not resolve, whatever the model did.
      const clean = body.replace(CITATION, (m, id: string) => (check.unsupported.includes(id) ? "" : m));
      return { title: titleOf(topic), body: clean };
    },

    async publisher(_task, ctx): Promise<{ namespace: string; key: string; version: number; words: number }> {
      const topic = topicOf(ctx);
      const namespace = inputOf(ctx).namespace ?? "articles";
      const { edit } = (await ctx.parents()) as { edit: Edited };
      const cited = new Set([...edit.body.matchAll(CITATION)].map((m) => m[1]!));
      const article: Article = {
        topic,
        title: edit.title,
        body: edit.body,
        references: (await sourcesOf(ctx)).filter((s) => cited.has(s.id)).map(({ id, url, claim }) => ({ id, url, claim })),
        words: edit.body.split(/\s+/).filter(Boolean).length,
        model: model().name,
      };
      const key = articleKey(topic);
      // Tenant-wide, not run-scoped: the article outlives the run. A newer run on the same topic replaces it.
      const w = await ctx.namespace(namespace).update(key, () => article);
      return { namespace, key, version: w.version, words: article.words };
    },
  };
}

async function sourcesOf(ctx: TaskContext): Promise<Source[]> {
  const entry = await ctx.state.get("sources");
  return ((entry?.value as SourcesDoc | undefined)?.sources ?? []) as Source[];
}

const lines = (text: string) =>
  text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
const titleOf = (topic: string) => `${topic.charAt(0).toUpperCase()}${topic.slice(1)}: what the evidence says`;

// One model per process, made on first use so tests and the emulator can set the env first.
let shared: Model | undefined;
const defaultModel = () => (shared ??= modelFromEnv(process.env, { rateLimitFirstAttempt: [RATE_LIMITED_NODE] }));

/** The agents on the model WEFT_MODEL selects (the fake by default). */
export const agents: Agents = createAgents(defaultModel);
