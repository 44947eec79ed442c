import { readFileSync } from "node:fs";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { contextFrom, DEFAULT_API_URL, type Context, type GlobalOptions } from "./config.js";
import { EXIT, printJson, reportError, UsageError } from "./output.js";
import { submit } from "./commands/submit.js";
import { watch } from "./commands/watch.js";
import { cancel, events, history, list, redrive, rewind, status } from "./commands/runs.js";
import { stateGet, stateSet } from "./commands/state.js";
import { worker } from "./commands/worker.js";
import { approve, pause, reject, resume, signalKey } from "./commands/waits.js";
import { agents } from "./commands/agents.js";

/**
 * `weft`: the terminal and scripting face of the HTTP API, through @weft/client only.
 * Every command returns its exit code: 0 ok (or a run that succeeded / is running),
 * 1 a run that failed or was cancelled, or an API error, 2 bad usage or input rejected
 * by validation.
 */

const count = (flag: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${flag} must be a non-negative integer`);
  return n;
};

/**
 * Wraps a command: builds the context from global flags/env, maps errors to output and exit
 * codes. `globals` may reinterpret a global flag for one command (weft signal --key).
 */
function act<A extends unknown[]>(fn: (ctx: Context, ...args: A) => Promise<number>, globals = (g: GlobalOptions) => g) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const ctx = contextFrom(globals(cmd.optsWithGlobals<GlobalOptions>()));
    try {
      process.exitCode = await fn(ctx, ...(args.slice(0, -1) as A));
    } catch (err) {
      process.exitCode = reportError(err, ctx);
    }
  };
}

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

const program = new Command("weft")
  .description("Submit, watch and steer Weft runs; run workers.")
  .version(version)
  .option("--api <url>", `API base URL (env WEFT_API_URL, default ${DEFAULT_API_URL})`)
  .option("--key <key>", "API key (env WEFT_API_KEY)")
  .option("--json", "machine-readable output: JSON on stdout (errors too)")
  .showHelpAfterError("(weft --help for usage)")
  .exitOverride();

program
  .command("submit")
  .description("submit a run from dag.json, dag.yaml or - (stdin); prints its dagId")
  .argument("<file>", "run spec: .json, .yaml/.yml, or - for stdin")
  .option("--idempotency-key <key>", "same key again returns the same run")
  .option("--watch", "then watch the run live (exit 1 if it fails)")
  .option("--wait", "then wait for the run to end (exit 1 if it fails)")
  .action(act((ctx, file: string, o: { idempotencyKey?: string; watch?: boolean; wait?: boolean }) => submit(ctx, file, o)));

program
  .command("status")
  .description("a run and its nodes (exit 1 if it failed or was cancelled)")
  .argument("<dagId>")
  .action(act((ctx, dagId: string) => status(ctx, dagId)));

program
  .command("watch")
  .description("follow a run live until it ends (exit 1 if it failed or was cancelled)")
  .argument("<dagId>")
  .action(act((ctx, dagId: string) => watch(ctx, dagId)));

program
  .command("events")
  .description("a run's event log")
  .argument("<dagId>")
  .option("--after <seq>", "only events after this seq", count("--after"), 0)
  .option("--follow", "keep following until the run ends")
  .action(act((ctx, dagId: string, o: { after: number; follow?: boolean }) => events(ctx, dagId, { after: o.after, follow: o.follow === true })));

program
  .command("cancel")
  .description("cancel a run: unfinished nodes become cancelled")
  .argument("<dagId>")
  .action(act((ctx, dagId: string) => cancel(ctx, dagId)));

program
  .command("redrive")
  .description("re-run the failed, cancelled and skipped nodes of a finished run")
  .argument("<dagId>")
  .action(act((ctx, dagId: string) => redrive(ctx, dagId)));

program
  .command("rewind")
  .description("reset a node and its descendants and run again from there")
  .argument("<dagId>")
  .argument("<nodeId>")
  .action(act((ctx, dagId: string, nodeId: string) => rewind(ctx, dagId, nodeId)));

program
  .command("approve")
  .description("end a waiting node's wait with an output (its decision): the node succeeds, or a suspended agent resumes")
  .argument("<dagId>")
  .argument("<nodeId>")
  .option("--output <json>", "the output, JSON (- reads stdin); default {\"approved\":true}")
  .option("--by <who>", "who decided, for the log")
  .option("--signal-id <id>", "the same id again is a duplicate, not a conflict")
  .action(act((ctx, dagId: string, nodeId: string, o: { output?: string; by?: string; signalId?: string }) => approve(ctx, dagId, nodeId, o)));

program
  .command("reject")
  .description("end a waiting node's wait with an error: the node fails (no retry; the run's failure policy applies)")
  .argument("<dagId>")
  .argument("<nodeId>")
  .option("--reason <text>", "why (the node's error message); required")
  .option("--by <who>", "who decided, for the log")
  .option("--signal-id <id>", "the same id again is a duplicate, not a conflict")
  .action(act((ctx, dagId: string, nodeId: string, o: { reason?: string; by?: string; signalId?: string }) => reject(ctx, dagId, nodeId, o)));

program
  .command("signal")
  .description("end every wait of the tenant on --key, in any run (a signal before anyone waits is not kept); here --key is the waits' key, the API key comes from WEFT_API_KEY")
  .option("--output <json>", "the output, JSON (- reads stdin); default null")
  .option("--error <message>", "reject instead: the nodes fail with this message")
  .option("--by <who>", "who sent it, for the log")
  .option("--signal-id <id>", "the same id again is a duplicate, not a conflict")
  .action(async (o: { output?: string; error?: string; by?: string; signalId?: string }, cmd: Command) => {
    // The program's --key (the API key elsewhere) names the waits here.
    const key = cmd.optsWithGlobals<GlobalOptions>().key;
    await act(
      (ctx) => {
        if (!key) throw new UsageError("give the waits' key: weft signal --key <key> [--output <json>]", "key");
        return signalKey(ctx, { ...o, key });
      },
      ({ key: _waits, ...g }) => g,
    )(cmd);
  });

program
  .command("pause")
  .description("pause a run: no node of it is handed out until resume; running attempts finish")
  .argument("<dagId>")
  .action(act((ctx, dagId: string) => pause(ctx, dagId)));

program
  .command("resume")
  .description("resume a paused run")
  .argument("<dagId>")
  .action(act((ctx, dagId: string) => resume(ctx, dagId)));

program
  .command("list")
  .description("the tenant's runs, newest first")
  .option("--status <status>", "running, paused, succeeded, failed or cancelled")
  .option("--limit <n>", "runs per page", count("--limit"))
  .option("--cursor <cursor>", "next page, from the previous one")
  .action(act((ctx, o: { status?: string; limit?: number; cursor?: string }) => list(ctx, o)));

program
  .command("history")
  .description("the run as it was just after event --at of its log")
  .argument("<dagId>")
  .requiredOption("--at <seq>", "an event seq", count("--at"))
  .action(act((ctx, dagId: string, o: { at: number }) => history(ctx, dagId, o.at)));

program
  .command("agents")
  .description("scaling signals per agent: ready nodes, age of the oldest, running, leases expiring soon (what an autoscaler reads)")
  .argument("[agent]", "only this agent (zeros when it has no work)")
  .option("--within <ms>", "window of 'expiring soon', ms (default 30000)", count("--within"))
  .action(act((ctx, agent: string | undefined, o: { within?: number }) => agents(ctx, agent, o)));

const state = program.command("state").description("shared agent state (compare-and-set on versions)");
state
  .command("get")
  .description("print a value (its version on stderr)")
  .argument("<namespace>", "namespace (with --run: the key)")
  .argument("[key]")
  .option("--run <dagId>", "run-scoped state of this run")
  .action(act((ctx, ns: string, key: string | undefined, o: { run?: string }) => stateGet(ctx, key === undefined ? [ns] : [ns, key], o)));
state
  .command("set")
  .description("write a JSON value (- reads it from stdin)")
  .argument("<namespace>", "namespace (with --run: the key)")
  .argument("<key>", "key (with --run: the value)")
  .argument("[json]")
  .option("--run <dagId>", "run-scoped state of this run")
  .option("--if-version <n>", "write only if the value is at this version", count("--if-version"))
  .option("--create", "create only: fail if the key exists")
  .action(
    act((ctx, a: string, b: string, c: string | undefined, o: { run?: string; ifVersion?: number; create?: boolean }) =>
      c === undefined ? stateSet(ctx, [a], b, o) : stateSet(ctx, [a, b], c, o),
    ),
  );

program
  .command("worker")
  .description("run the agents a module exports, claiming their nodes until SIGINT/SIGTERM")
  .argument("<module>", "path of a module exporting `agents` (or a default agents record); .ts works")
  .option("--concurrency <n>", "tasks in flight at once (default: the module's `concurrency`, else the runtime's)", count("--concurrency"))
  .option("--agents <names>", "only these agents, comma-separated")
  .option("--lease-ms <ms>", "lease length asked for each claim", count("--lease-ms"))
  .action(act((ctx, module: string, o: { concurrency?: number; agents?: string; leaseMs?: number }) => worker(ctx, module, o)));

try {
  await program.parseAsync();
} catch (err) {
  // Commander has printed its message already; help and --version are not errors.
  const code = err instanceof CommanderError ? err.code : "";
  if (code === "commander.helpDisplayed" || code === "commander.help" || code === "commander.version") process.exitCode = EXIT.ok;
  else {
    if (process.argv.includes("--json")) printJson({ error: { code: "usage", message: (err as Error).message.replace(/^error: /, "") } });
    process.exitCode = EXIT.usage;
  }
}
