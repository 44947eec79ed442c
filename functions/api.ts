import { httpHandler } from "./http/lambda.js";

/**
 * The HTTP API: every route of functions/http/app.ts, one Lambda behind API Gateway
 * (infra/routes.ts names each route, plus `$default` so that anything else still gets
 * the app's own 404/405 in the error envelope). One function means one cold start and
 * one Redis connection per container, whichever route a caller uses.
 */
export const handler = httpHandler();
