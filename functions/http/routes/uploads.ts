import { z } from "@hono/zod-openapi";
import { ValidationError } from "@weft/core";
import { LIMITS } from "@weft/core/checks";
import { MAX_VALUE_BYTES, SHA256_PATTERN } from "@weft/core/values";
import { errorResponses } from "../errors.js";
import { serve } from "../serve.js";
import { json, NodeParams } from "../schemas.js";
import { subApp, type RouteDeps, type WeftApp } from "./deps.js";

/** Presigned uploads of values too big for a request body (API Gateway takes 10 MB, Lambda 6 MB). */

/** How long an upload URL stays valid. */
const UPLOAD_URL_SECONDS = 900;

const UploadRequest = z
  .object({
    field: z.enum(["input", "output"]).openapi({ description: "Which of the node's values this is: its output (a worker's completion) or its input (a submit or an addition naming the node)" }),
    bytes: z.number().int().min(1).max(LIMITS.maxInteger).openapi({ description: `The value's size as JSON, in bytes; at most ${MAX_VALUE_BYTES} (else 413 naming the field)` }),
    sha256: z
      .string()
      .regex(SHA256_PATTERN, "must be 64 lowercase hex digits")
      .optional()
      .openapi({ description: "The JSON's SHA-256: the key is made of it, so the same value uploaded again (a retried completion) is the same reference" }),
  })
  .strict()
  .openapi("UploadRequest");

const UploadResult = z
  .object({
    url: z.string().openapi({ description: "PUT the value's JSON here (Content-Type: application/json, Content-Length: bytes)" }),
    method: z.literal("PUT"),
    headers: z.record(z.string(), z.string()),
    ref: z.object({ $weftValue: z.object({ key: z.string(), bytes: z.number().int() }) }).openapi({
      description: "Send this as the node's output (complete) or input (submit, nodes) once the PUT succeeded",
    }),
    expiresAt: z.number().int().openapi({ description: "Epoch ms after which the URL no longer takes the upload" }),
  })
  .openapi("UploadResult");

export function uploadRoutes({ values }: RouteDeps): WeftApp {
  const app = subApp();
  serve(
    app,
    {
      method: "post",
      path: "/v1/dags/{dagId}/nodes/{nodeId}/uploads",
      summary: "A presigned URL to upload a large input or output to (up to 100 MB), then referenced in the request that sets it",
      params: NodeParams,
      body: { required: true, schema: UploadRequest },
      responses: { 200: json(UploadResult, "Upload the value to `url`, then send `ref` in its place"), ...errorResponses(413, 422) },
    },
    async (c, { params: { dagId, nodeId }, body: { field, bytes, sha256 } }) => {
      if (!values.store) throw new ValidationError("large values are not configured here (WEFT_VALUES_BUCKET)", "field");
      const { url, value } = await values.store.uploadUrl({ tenant: c.var.tenant, dagId, nodeId, field }, bytes, { expiresInSeconds: UPLOAD_URL_SECONDS, ...(sha256 ? { sha256 } : {}) });
      return c.json(
        {
          url,
          method: "PUT" as const,
          headers: { "content-type": "application/json" },
          ref: { $weftValue: value },
          expiresAt: Date.now() + UPLOAD_URL_SECONDS * 1000,
        },
        200,
      );
    },
  );
  return app;
}
