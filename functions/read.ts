import { httpHandler } from "./http/lambda.js";

/** GET /v1/dags/{dagId}, GET /v1/dags/{dagId}/events, GET /openapi.json. */
export const handler = httpHandler();
