#!/usr/bin/env bash
# Runs this repository's wrangler with a Node.js it accepts (22.12+; one is fetched from npm when
# the system's is older). `npm run example:workers` is `wrangler dev` on the Workers example.
set -euo pipefail
cd "$(dirname "$0")/../.."
node=$(bash tests/support/node22.sh)
export WRANGLER_SEND_METRICS=${WRANGLER_SEND_METRICS:-false}
exec "$node" node_modules/wrangler/bin/wrangler.js "$@"
