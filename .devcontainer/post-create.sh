#!/usr/bin/env bash
# Runs once, when the devcontainer is created (devcontainer.json): creates
# Dropoff's two databases on the SQL Server container and applies their
# migrations. Safe to run again: both steps change nothing already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

go run ./src/cmd/dropoff createdb
go run ./src/cmd/dropoff migrate

cat <<'MSG'

Dropoff is ready to run on the Service Bus emulator and SQL Server:
  go run ./src/cmd/dropoff          # all four roles, http://127.0.0.1:8080 (forwarded)
  go test ./...                     # the live suites run too, on their own queue and databases
MSG
