import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// VITE_WEFT_API_URL points a deployed static site at the API; locally the API serves this
// build from its own origin, so the default is "" (same origin).
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  worker: { format: "es" },
});
