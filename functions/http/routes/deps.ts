import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Engine } from "../../../packages/core/src/engine/types.js";
import type { AuthEnv } from "../auth.js";

export type WeftApp = OpenAPIHono<AuthEnv>;

/** A run whose outbox may just have gained entries. */
export interface WriteRef {
  tenant: string;
  dagId: string;
}

export interface RouteDeps {
  engine: Engine;
  /** Called after every engine write that may add outbox entries (the app bounds and swallows it). */
  afterWrite(ref: WriteRef): Promise<void>;
}
