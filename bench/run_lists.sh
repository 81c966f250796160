#!/usr/bin/env bash
# The long lists through HTTP on a SQLite ledger of N invoices (default 1 000 000, about 10 000
# customers): the customers and aged-balance pages, paginated, sorted, searched, for the whole
# team (a manager) and for one collector, first request after start-up and then cached (median
# of RUNS). Baseline in the same run: GET /api/customers, every customer's row at once (what the
# page printed before it was paginated).
#
# Usage: bench/run_lists.sh [INVOICES]      env: RUNS=7, CARGO_TARGET_DIR (honoured).
# Work files go to bench/data/lists-N/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
N=${1:-1000000}
RUNS=${RUNS:-7}
export CI=1

cargo build --release --locked --quiet
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/arpilot
DATA=bench/data/g$N
[ -f "$DATA/invoices.csv" ] || "$BIN" generate --invoices "$N" --output "$DATA" --seed 1
WORK=bench/data/lists-$N
mkdir -p "$WORK"
DB=$WORK/ledger.db
if [ ! -f "$DB" ]; then
  "$BIN" import "$DATA" --db "$DB" >"$WORK/import.log" 2>&1 || { cat "$WORK/import.log" >&2; exit 1; }
  COLLECTOR=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "collector") c = i } NR == 2 { print $c; exit }' "$DATA/customers.csv")
  ARPILOT_PASSWORD=bench-lists-pw "$BIN" users --db "$DB" add manager --role manager >/dev/null
  ARPILOT_PASSWORD=bench-lists-pw "$BIN" users --db "$DB" add collector --role collector --portfolio "collector=$COLLECTOR" >/dev/null
fi
MANAGER=$("$BIN" users --db "$DB" token manager --name bench | tail -n 1)
COLL=$("$BIN" users --db "$DB" token collector --name bench | tail -n 1)
# A customer's name and an invoice number to search for.
NAME=$(python3 -c 'import csv, sys, urllib.parse
r = csv.DictReader(open(sys.argv[1], encoding="utf-8"))
print(urllib.parse.quote_plus(next(r)["name"][:8]))' "$DATA/customers.csv")
INVOICE=$(awk -F, 'NR == 5000 { print $1; exit }' "$DATA/invoices.csv")

. bench/serve.sh
ERR=$WORK/serve.err
start_serve "$BIN" "$DB" "$ERR"
PID=$SERVER_PID
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT

# GET $2 as token $1: time in ms and size in KB (checks the status)
get() {
  local out
  out=$(curl -s -o "$WORK/body" -w '%{http_code} %{time_total} %{size_download}' -H "Authorization: Bearer $1" "$URL${2#/}")
  read -r code t size <<<"$out"
  [ "$code" = 200 ] || echo "warning: GET $2 answered $code: $(head -c 300 "$WORK/body")" >&2
  awk -v t="$t" -v s="$size" 'BEGIN { printf "%.1f %.0f", t * 1000, s / 1024 }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf '%-62s %10s %10s %8s\n' "request ($N invoices)" "first ms" "median ms" "KB"
measure() { # label token path
  local first rest=() r size
  r=$(get "$2" "$3")
  first=${r% *}
  for _ in $(seq 1 "$RUNS"); do
    r=$(get "$2" "$3")
    rest+=("${r% *}")
    size=${r#* }
  done
  printf '%-62s %10s %10s %8s\n' "$1" "$first" "$(printf '%s\n' "${rest[@]}" | median)" "$size"
}
measure "team: /customers (page 1, 50 rows)" "$MANAGER" "/customers"
measure "team: /customers sort=balance page=37" "$MANAGER" "/customers?sort=balance&page=37"
measure "team: /customers sort=name dir=desc per=200" "$MANAGER" "/customers?sort=name&dir=desc&per=200"
measure "team: /customers q=<name>" "$MANAGER" "/customers?q=$NAME"
measure "team: /customers q=<invoice number>" "$MANAGER" "/customers?q=$INVOICE"
measure "team: /aging (page 1)" "$MANAGER" "/aging"
measure "team: /aging sort=b3 page=12" "$MANAGER" "/aging?sort=b3&page=12"
measure "team: /aging q=<invoice number>" "$MANAGER" "/aging?q=$INVOICE"
measure "one collector: /customers sort=overdue" "$COLL" "/customers?sort=overdue"
measure "one collector: /aging q=<name>" "$COLL" "/aging?q=$NAME"
measure "baseline: /api/customers (every row at once)" "$MANAGER" "/api/customers"
