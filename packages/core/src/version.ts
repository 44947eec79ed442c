import pkg from "../package.json" with { type: "json" };

/** The version of Weft's engine (@weft/core's package version), as GET /health reports it. */
export const VERSION: string = pkg.version;
