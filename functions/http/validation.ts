import type { ZodError } from "zod";
import { fromZodError } from "@weft/core/validation";
import { RequestValidationError } from "./errors.js";

const WHERE: Record<string, string> = { json: "", param: "path", query: "query", header: "header", cookie: "cookie", form: "" };

/**
 * A request that fails its schema, as a 400 naming the field. Body fields are named as
 * core names them (`nodes[3].deps[0]`); path and query ones get a prefix (`query.after`).
 */
export function requestErrorFromZod(error: ZodError, target: string): RequestValidationError {
  if (target === "header") {
    // Headers are named as HTTP writes them: `If-Match`, `X-Weft-Attempt`.
    const issue = error.issues[0];
    const name = String(issue?.path[0] ?? "header").replace(/(^|-)([a-z])/g, (_m, dash: string, ch: string) => dash + ch.toUpperCase());
    const core = fromZodError(error, name);
    const predicate = core.message.slice(core.message.indexOf(" ") + 1);
    return new RequestValidationError(`${name} ${predicate}`, name, core.details);
  }
  const where = WHERE[target] ?? target;
  const core = fromZodError(error, where || "body");
  if (!where || core.field === undefined) return new RequestValidationError(core.message, core.field, core.details);
  return new RequestValidationError(`${where}.${core.message}`, `${where}.${core.field}`, core.details);
}
