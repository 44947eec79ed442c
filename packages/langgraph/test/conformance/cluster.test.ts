import { conformance } from "./suite.js";

conformance("cluster");
