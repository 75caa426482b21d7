#!/bin/sh
# Installs the pinned front-end packages and copies them into
# internal/web/static/dist/ for the Go binary to embed. `make web` runs it.
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
node build.mjs
