import { httpHandler } from "./http/lambda.js";

/** POST /v1/dags/{dagId}/cancel. */
export const handler = httpHandler();
