#!/usr/bin/env bash
# Installs the Debian packages the tests use, when missing: promtool and the Prometheus server
# (package prometheus), redis-server (behind the tests' Upstash REST gateway), openssl (throwaway
# certificates) and curl (the TLS tests' client), and ca-certificates for curl's HTTPS.
# With --bench, also wrk (the HTTP benchmark's load generator).
# Needs root (CI and the dev machines are); otherwise says what to install.
set -euo pipefail
missing=()
if [ "${1:-}" = "--bench" ]; then command -v wrk >/dev/null 2>&1 || missing+=(wrk); fi
{ command -v promtool && command -v prometheus; } >/dev/null 2>&1 || missing+=(prometheus)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v curl >/dev/null 2>&1 || missing+=(curl ca-certificates)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages: ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "=== apt-get install ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
