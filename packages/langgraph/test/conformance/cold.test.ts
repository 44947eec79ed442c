import { conformance } from "./suite.js";

conformance("single", "cold");
