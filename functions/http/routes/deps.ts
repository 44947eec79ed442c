import { OpenAPIHono } from "@hono/zod-openapi";
import type { Engine } from "@weft/core";
import type { ColdStore } from "@weft/core";
import { createReadThrough, type ReadThrough } from "@weft/core";
import type { AuthEnv } from "../auth.js";
import { requestErrorFromZod } from "../validation.js";
import type { Values } from "../../values.js";

export type WeftApp = OpenAPIHono<AuthEnv>;

/**
 * A sub-app of the API (one per resource: runs, claims, nodes, state); createApp mounts
 * each with `app.route("/", ...)`, behind the same auth, limits and error mapping.
 * Schema failures become our 400 (naming the field) instead of zod's raw issue list.
 */
export function subApp(): WeftApp {
  return new OpenAPIHono<AuthEnv>({
    defaultHook: (result) => {
      if (!result.success) throw requestErrorFromZod(result.error, result.target);
    },
  });
}

/** A run whose outbox may just have gained entries. */
export interface WriteRef {
  tenant: string;
  dagId: string;
}

export interface RouteDeps {
  engine: Engine;
  /** Reads, history and resumes: Redis first, then the cold store. */
  runs: ReadThrough;
  /** Called after every engine write that may add outbox entries (the app bounds and swallows it). */
  afterWrite(ref: WriteRef): Promise<void>;
  /** Large inputs and outputs: stored in S3 on the way in, resolved on the way out (functions/values.ts). */
  values: Values;
}

/** Without a cold store nothing is archived: a run Redis does not have does not exist. */
const NO_COLD_STORE: ColdStore = {
  putRun: async () => {
    throw new Error("no cold store configured (WEFT_TABLE)");
  },
  getRun: async () => null,
  getEvents: async () => null,
  listRuns: async () => ({ runs: [] }),
};

export function hotOnlyReads(engine: Engine): ReadThrough {
  return createReadThrough({ engine, cold: NO_COLD_STORE });
}
