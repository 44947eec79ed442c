import type { ZodError } from "zod";
import { fromZodError } from "@weft/core";
import { RequestValidationError } from "./errors.js";

const WHERE: Record<string, string> = { json: "", param: "path", query: "query", header: "header", cookie: "cookie", form: "" };

/**
 * A request that fails its schema, as a 400 naming the field. Body fields are named as
 * core names them (`nodes[3].deps[0]`); path and query ones get a prefix (`query.after`).
 */
export function requestErrorFromZod(error: ZodError, target: string): RequestValidationError {
  const where = WHERE[target] ?? target;
  const core = fromZodError(error, where || "body");
  if (!where || core.field === undefined) return new RequestValidationError(core.message, core.field, core.details);
  return new RequestValidationError(`${where}.${core.message}`, `${where}.${core.field}`, core.details);
}
