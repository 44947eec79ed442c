import { httpHandler } from "./http/lambda.js";

/** POST /v1/agents/{agent}/claim and POST /v1/dags/{dagId}/nodes/{nodeId}/claim. */
export const handler = httpHandler();
