#!/usr/bin/env bash
# Views of past dates on a dated ledger: N invoices (default 1 000 000) with 30 % of the second
# entity's customers in US dollars (a rate every month) and due dates amended by a second import
# (one invoice in a hundred, effective 2026-09-15). Times, on one SQLite file:
#   - `arpilot report --db … --as-of D` for three past dates: the ledger read and built for the
#     date (what a server did for each new past date before keeping its parts in memory);
#   - `arpilot serve`: ready, then the first and second `/api/report?as_of=D` of the same dates
#     and of the default date, built from memory; two calls recorded and two payments pushed (a
#     euro and a dollar customer's), the latest balance checked against the command's; a past
#     date at once and after a quiet moment; calls recorded 2.1 s apart.
# Figures are checked equal between the command and the server (totals of each date).
#
# Usage: bench/run_dated.sh [INVOICES] [OTHER_ARPILOT]     Work files go to bench/data/dated-N/
# (git-ignored); OTHER_ARPILOT, another build, has its server figures measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
OTHER=${2:-} # another arpilot binary, measured in the same run
export CI=1
cargo build --release --locked --quiet
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/arpilot
WORK=bench/data/dated-$N
DATA=$WORK/set
mkdir -p "$WORK"
[ -f "$DATA/invoices.csv" ] || "$BIN" generate --invoices "$N" --output "$DATA" --seed 1 --usd-share 0.3
DB=$WORK/ledger.db
if [ ! -f "$DB" ]; then
  "$BIN" import "$DATA" --db "$DB" >"$WORK/import.log" 2>&1
  # The ERP moved some due dates: the second import amends them.
  mkdir -p "$WORK/moved"
  python3 - "$DATA/invoices.csv" "$WORK/moved/invoices.csv" <<'EOF'
import csv, datetime, sys
src, dst = sys.argv[1], sys.argv[2]
with open(src, newline="") as f, open(dst, "w", newline="") as g:
    r = csv.reader(f)
    w = csv.writer(g, lineterminator="\n")
    head = next(r)
    w.writerow(head)
    due = head.index("due_date")
    for k, row in enumerate(r):
        if k % 100 == 7 and row[due]:
            d = datetime.date.fromisoformat(row[due]) + datetime.timedelta(days=30)
            row[due] = d.isoformat()
            w.writerow(row)
EOF
  cp "$DATA/customers.csv" "$WORK/moved/"
  "$BIN" import "$WORK/moved" --db "$DB" --effective 2026-09-15 >"$WORK/amend.log" 2>&1
  ARPILOT_PASSWORD=bench-dated "$BIN" users --db "$DB" add bench --role manager >/dev/null
fi
rm -f "$DB.image"
TOKEN=$("$BIN" users --db "$DB" token bench --name bench | tail -n 1)
DATES="2026-06-30 2026-08-31 2026-09-30"

now() { echo "$EPOCHREALTIME"; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }
balance() { python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"]["balance"])'; }

echo "dated ledger: $N invoices, $(grep -c . "$DATA/rates.csv") rates, $(grep -oE '[0-9]+ amended' "$WORK/amend.log" | head -n 1 || echo '? amended'), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
declare -A CLI
for d in $DATES; do
  t0=$(now)
  CLI[$d]=$("$BIN" report --db "$DB" --as-of "$d" --format json | balance)
  t1=$(now)
  echo "arpilot report --db --as-of $d: $(ms "$t0" "$t1") ms (balance ${CLI[$d]})"
done

. bench/serve.sh
# serve_run BIN: the server's figures of one binary (the image is removed: each start reads
# the ledger; the calls recorded add two actions, which change no balance).
serve_run() {
  local BIN=$1
  rm -f "$DB.image"
  echo "== $BIN"
  t0=$(now)
  ARPILOT_TIMING=1 start_serve "$BIN" "$DB" "$WORK/serve.err"
  PID=$SERVER_PID
  trap 'kill $PID 2>/dev/null || true' EXIT
  echo "serve ready: $(ms "$t0" "$(now)") ms, RSS $(($(ps -o rss= -p "$PID") / 1024)) MB"
  sleep 2 # the worklist computed in the background after the start
  for d in $DATES ""; do
    for call in first again; do
      out=$(curl -s -o "$WORK/body.json" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $TOKEN" "${URL}api/report${d:+?as_of=$d}")
      [ "${out%% *}" = 200 ] || { echo "GET answered ${out%% *}: $(head -c 300 "$WORK/body.json")" >&2; exit 1; }
      b=$(balance <"$WORK/body.json")
      if [ -n "$d" ] && [ "$b" != "${CLI[$d]}" ]; then
        echo "balance of $d differs: server $b, command ${CLI[$d]}" >&2
        exit 1
      fi
      echo "GET /api/report${d:+?as_of=$d} $call: $(awk -v t="${out#* }" 'BEGIN { printf "%.1f", t * 1000 }') ms"
    done
  done
  # A call recorded on a customer in dollars, then on one in euros: the views take it from what
  # they keep in memory (before: the whole ledger read and built again, as the command does).
  for CUST in $(awk -F, 'NR > 1 && /,USD,/ { print $1; exit }' "$DATA/customers.csv") "$(awk -F, 'NR == 2 { print $1 }' "$DATA/customers.csv")"; do
    out=$(curl -s -o "$WORK/work.json" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $TOKEN" \
      -H 'Content-Type: application/json' "${URL}api/customers/$CUST/work" -d '{"kind":"call","outcome":"reached","note":"bench"}')
    [ "${out%% *}" = 200 ] || { echo "call answered ${out%% *}: $(head -c 300 "$WORK/work.json")" >&2; exit 1; }
    echo "call recorded on $CUST: $(awk -v t="${out#* }" 'BEGIN { printf "%.1f", t * 1000 }') ms"
  done
  # A payment pushed for each (`POST /api/events`): both join the current view as they are,
  # the dollar one converted at the rate of the view's date (before: the full synchronisation,
  # which reads the stored ledger, then the views built again).
  local USD_CUST EUR_CUST
  USD_CUST=$(awk -F, 'NR > 1 && /,USD,/ { print $1; exit }' "$DATA/customers.csv")
  EUR_CUST=$(awk -F, 'NR == 2 { print $1 }' "$DATA/customers.csv")
  for spec in "$EUR_CUST:EUR" "$USD_CUST:USD"; do
    out=$(curl -s -o "$WORK/push.json" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $TOKEN" \
      -H 'Content-Type: application/json' "${URL}api/events" \
      -d "{\"events\":[{\"type\":\"payment\",\"payment_id\":\"BENCH-$$-$PID-${spec%%:*}\",\"customer_id\":\"${spec%%:*}\",\"date\":\"2026-10-15\",\"amount\":\"10.00\",\"currency\":\"${spec#*:}\"}]}")
    grep -q '"appended":1' "$WORK/push.json" || { echo "push answered ${out%% *}: $(head -c 300 "$WORK/push.json")" >&2; exit 1; }
    echo "payment pushed for ${spec%%:*} (${spec#*:}): $(awk -v t="${out#* }" 'BEGIN { printf "%.1f", t * 1000 }') ms"
  done
  out=$(curl -s -o "$WORK/body.json" -w '%{time_total}' -H "Authorization: Bearer $TOKEN" "${URL}api/report?as_of=2026-07-31")
  echo "GET /api/report?as_of=2026-07-31 at once after the changes: $(awk -v t="$out" 'BEGIN { printf "%.1f", t * 1000 }') ms"
  # One answer: the server's default view after these changes is what the command reads.
  curl -s -H "Authorization: Bearer $TOKEN" "${URL}api/report" >"$WORK/body.json"
  out=$(balance <"$WORK/body.json")
  local latest
  latest=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["as_of"])' <"$WORK/body.json")
  want=$("$BIN" report --db "$DB" --as-of "$latest" --format json | balance)
  [ "$out" = "$want" ] || { echo "balance of $latest differs: server $out, command $want" >&2; exit 1; }
  echo "balance of the default date ($latest) after the changes: $out (the command: the same)"
  # What past dates are written from is built again in a quiet moment after changes.
  sleep 4
  out=$(curl -s -o "$WORK/body.json" -w '%{time_total}' -H "Authorization: Bearer $TOKEN" "${URL}api/report?as_of=2026-05-31")
  echo "GET /api/report?as_of=2026-05-31 after a quiet moment: $(awk -v t="$out" 'BEGIN { printf "%.1f", t * 1000 }') ms"
  # A call recorded 2.1 s after another, three times: while the server builds what past dates
  # are written from in the quiet moment after the first (a server that builds nothing then
  # records both alike).
  local k first during
  for k in 1 2 3; do
    first=$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
      "${URL}api/customers/$EUR_CUST/work" -d '{"kind":"call","outcome":"reached","note":"bench"}')
    sleep 2.1
    during=$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
      "${URL}api/customers/$EUR_CUST/work" -d '{"kind":"call","outcome":"reached","note":"bench 2"}')
    echo "call recorded, then another 2.1 s later: $(awk -v a="$first" -v b="$during" 'BEGIN { printf "%.1f / %.1f", a * 1000, b * 1000 }') ms"
    sleep 3
  done
  echo "RSS after: $(($(ps -o rss= -p "$PID") / 1024)) MB"
  kill "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
}
serve_run "$BIN"
[ -z "$OTHER" ] || serve_run "$OTHER"
