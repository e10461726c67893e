#!/usr/bin/env bash
# System packages the test suite and benchmarks need: Debian's Chromium (browser tests; never a
# downloaded browser), wrk (load generator) and PostGIS (the dispatch benchmark's baseline).
# Installs only what is missing; needs root.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
# PostGIS: only the dispatch benchmark's baseline (python -m bench.dispatch); never the tests.
ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || missing+=(postgresql-15-postgis-3)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "Missing system packages: ${missing[*]} (install them with apt-get as root)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
