import { httpHandler } from "./http/lambda.js";

/** GET /v1/dags/{dagId}, its events, history and nodes/{nodeId}/parents, GET /openapi.json. */
export const handler = httpHandler();
