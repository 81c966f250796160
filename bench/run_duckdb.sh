#!/usr/bin/env bash
# Generates (once) a ledger of N invoices, then compares arpilot with DuckDB on it.
# Usage: bench/run_duckdb.sh [INVOICES] [AS_OF]     e.g. bench/run_duckdb.sh 10000000
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
as_of="${2:-2026-10-31}"
data="bench/data/$n"
cargo build --release --quiet
if [ ! -f "$data/invoices.csv" ]; then
  target/release/arpilot generate --invoices "$n" --output "$data" --seed 1
fi
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
  bench/.venv/bin/pip install --quiet duckdb
fi
bench/.venv/bin/python bench/compare_duckdb.py --data "$data" --as-of "$as_of"
