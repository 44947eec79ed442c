#!/bin/sh
# Installs SST's platform into .sst/platform (component sources, Pulumi SDKs, the global
# types sst.config.ts is checked against) using only the npm registry:
#   SST_SKIP_DEPENDENCY_CHECK=1  no Pulumi CLI / bun downloads (not needed to typecheck or test)
#   SST_NO_BUN=1                 the platform's packages come from npm, not bun
# Idempotent: does nothing when the platform matches the installed sst package.
set -eu
cd "$(dirname "$0")/.."
want=$(node -p 'require("./node_modules/sst/package.json").version')
if [ "$(cat .sst/platform/version 2>/dev/null)" = "$want" ] && [ -d .sst/platform/node_modules/@pulumi/aws ]; then
  exit 0
fi
SST_TELEMETRY_DISABLED=1 SST_SKIP_DEPENDENCY_CHECK=1 SST_NO_BUN=1 \
  npx --no-install sst install --stage "${SST_STAGE:-dev}"
