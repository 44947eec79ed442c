import { streamHandler } from "./live/lambda-stream.js";

/**
 * GET /v1/dags/{dagId}/events/stream and GET /v1/events/stream: Server-Sent Events from a
 * response-streaming Lambda (deployed behind API Gateway's REST API; see functions/live/).
 */
export const handler = streamHandler();
