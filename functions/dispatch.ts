import { httpHandler } from "./http/lambda.js";

/** POST /v1/dags: submit a run. */
export const handler = httpHandler();
