#!/usr/bin/env node
// The repo runs TypeScript through tsx (no build step): register it, then run the CLI.
// The same registration lets `weft worker ./agents.ts` import a TypeScript module.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
