import { httpHandler } from "./http/lambda.js";

/** POST /v1/dags/{dagId}/nodes/{nodeId}/complete | fail | heartbeat | release. */
export const handler = httpHandler();
