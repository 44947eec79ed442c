import { conformance } from "./suite.js";

conformance("upstash");
