#!/usr/bin/env bash
# Import throughput and ledger start-up: generates N invoices (default 1 000 000), imports the CSV
# set into a fresh SQLite file and a fresh PostgreSQL database, then builds a report from each.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
PG=${ARPILOT_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
cargo build --release --quiet
A=target/release/arpilot
DATA=bench/data/g$N
[ -d "$DATA" ] || $A generate --invoices "$N" --output "$DATA"
DB=bench/data/import-$N.db
rm -f "$DB" "$DB-wal" "$DB-shm"
echo "== SQLite: import"
CI=1 $A import "$DATA" --db "$DB"
echo "== SQLite: report (ledger read + snapshot + report)"
/usr/bin/time -f "%e s wall, %M KB max RSS" env ARPILOT_TIMING=1 $A report --db "$DB" --as-of 2026-10-31 --format json >/dev/null
ls -l "$DB"
if psql "$PG" -qAtc "select 1" >/dev/null 2>&1; then
  NAME=arpilot_bench_$N
  psql "$PG" -qc "DROP DATABASE IF EXISTS $NAME" -qc "CREATE DATABASE $NAME"
  URL="${PG%/*}/$NAME"
  echo "== PostgreSQL: import"
  CI=1 $A import "$DATA" --database-url "$URL"
  echo "== PostgreSQL: report"
  /usr/bin/time -f "%e s wall, %M KB max RSS" env ARPILOT_TIMING=1 $A report --database-url "$URL" --as-of 2026-10-31 --format json >/dev/null
fi
