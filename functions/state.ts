import { httpHandler } from "./http/lambda.js";

/** /v1/state/..., /v1/dags/{dagId}/state/..., /v1/machines/{name}: shared agent state (compare-and-set). */
export const handler = httpHandler();
