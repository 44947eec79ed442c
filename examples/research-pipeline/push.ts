import { pushHandler } from "@weft/client";
import { agents } from "./agents.js";

/**
 * The pipeline's agents as one Lambda (push mode): EventBridge delivers NodeReady for
 * their agent names (infra/subscriptions.ts routes one rule per agent here); the handler
 * claims that node, runs its agent and completes or fails it. WEFT_API_URL and
 * WEFT_API_KEY say where the API is; WEFT_MODEL picks the model (model.ts).
 */
export const handler = pushHandler({ agents });
