import type { RouteConfig } from "@hono/zod-openapi";
import type { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AuthEnv } from "./auth.js";
import { errorResponses, RequestValidationError } from "./errors.js";
import type { WeftApp } from "./routes/deps.js";
import { requestErrorFromZod } from "./validation.js";

/**
 * A route declared once: its OpenAPI entry and its handler come from the same object, and
 * every request passes the same checks before the handler runs.
 *
 * - Body: an empty body on a route whose body is optional is no body, whatever its
 *   Content-Type (clients that always send `application/json` can cancel, redrive or claim
 *   with defaults). A non-empty body must be JSON (else 415), valid UTF-8 and valid JSON
 *   (else 400). `mode: "schema"` validates it here; `"json"` hands the parsed value to core,
 *   which validates it itself (the run spec: parsed once, not twice); `"text"` hands over
 *   the checked text (shared state is stored byte for byte).
 * - Path, query and headers: validated by their schemas; a failure is 400 naming the field.
 * - Statuses every such route can answer (400, 401, 413, 415, 429, 503) are added to the
 *   document here, so the document cannot forget them (a keyless route: no 401, no 429).
 */
type Method = "get" | "post" | "put" | "patch" | "delete";
type Obj = z.ZodObject<z.ZodRawShape>;

export interface BodySpec<B extends z.ZodType> {
  schema: B;
  required: boolean;
  /** Default "schema". */
  mode?: "schema" | "json" | "text";
  description?: string;
}

export interface RouteSpec<P extends Obj | undefined, Q extends Obj | undefined, H extends Obj | undefined, B extends z.ZodType | undefined> {
  method: Method;
  /** OpenAPI style: `/v1/dags/{dagId}`. */
  path: string;
  summary: string;
  description?: string;
  tags?: string[];
  params?: P;
  query?: Q;
  headers?: H;
  body?: B extends z.ZodType ? BodySpec<B> : undefined;
  responses: RouteConfig["responses"];
  /** Served without the tenant's key (app.ts lets it through): `security: []` in the document, and no 401. */
  keyless?: boolean;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;
type BodyOut<B, M> = M extends "text" ? string : M extends "json" ? unknown : Out<B>;

export interface Input<P, Q, H, B, M> {
  params: Out<P>;
  query: Out<Q>;
  headers: Out<H>;
  /** Undefined when an optional body was empty; with a schema, `{}` is validated instead. */
  body: BodyOut<B, M>;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

export function serve<
  P extends Obj | undefined = undefined,
  Q extends Obj | undefined = undefined,
  H extends Obj | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
  M extends "schema" | "json" | "text" | undefined = undefined,
>(
  app: WeftApp,
  spec: RouteSpec<P, Q, H, B> & { body?: { mode?: M } },
  handler: (c: Context<AuthEnv>, input: Input<P, Q, H, B, M>) => Response | Promise<Response>,
): void {
  const body = spec.body as BodySpec<z.ZodType> | undefined;
  // A keyed route is rate limited when WEFT_RATE_LIMITS is set (functions/http/limits.ts).
  const statuses: (400 | 401 | 413 | 415 | 429 | 503)[] = spec.keyless ? [400, 503] : [400, 401, 429, 503];
  if (body) statuses.push(413, 415);
  app.openAPIRegistry.registerPath({
    method: spec.method,
    path: spec.path,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    ...(spec.tags ? { tags: spec.tags } : {}),
    ...(spec.keyless ? { security: [] } : {}),
    request: {
      ...(spec.params ? { params: spec.params } : {}),
      ...(spec.query ? { query: spec.query } : {}),
      ...(spec.headers ? { headers: spec.headers } : {}),
      ...(body
        ? { body: { required: body.required, ...(body.description ? { description: body.description } : {}), content: { "application/json": { schema: body.schema } } } }
        : {}),
    },
    responses: { ...errorResponses(...statuses), ...spec.responses },
  });

  const honoPath = spec.path.replace(/\{(\w+)\}/g, ":$1");
  app.on(spec.method.toUpperCase(), honoPath, async (c) => {
    const input = {
      params: spec.params ? parse(spec.params, c.req.param(), "param") : undefined,
      query: spec.query ? parse(spec.query, c.req.query(), "query") : undefined,
      headers: spec.headers ? parse(spec.headers, c.req.header(), "header") : undefined,
      body: body ? await readBody(c, body) : undefined,
    } as Input<P, Q, H, B, M>;
    return handler(c as unknown as Context<AuthEnv>, input);
  });
}

function parse<S extends z.ZodType>(schema: S, value: unknown, target: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw requestErrorFromZod(schema.safeParse(value, { reportInput: true }).error ?? r.error, target);
}

async function readBody(c: Context, spec: BodySpec<z.ZodType>): Promise<unknown> {
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  const mode = spec.mode ?? "schema";
  if (isBlank(bytes)) {
    if (spec.required) throw new RequestValidationError("body is required: a JSON value", "body");
    return mode === "schema" ? parse(spec.schema, {}, "json") : undefined;
  }
  const type = c.req.header("content-type");
  if (!type || !JSON_TYPE.test(type)) throw new HTTPException(415, { message: "send the body as JSON with Content-Type: application/json" });
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new RequestValidationError("body is not valid UTF-8", "body");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RequestValidationError("body must be valid JSON", "body");
  }
  if (mode === "text") return text;
  if (mode === "json") return value;
  return parse(spec.schema, value, "json");
}

/** Empty, or only JSON whitespace. */
function isBlank(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) return false;
  return true;
}
