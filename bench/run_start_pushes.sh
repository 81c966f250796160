#!/usr/bin/env bash
# Pushes right after a start: `arpilot serve` starts from the ledger's image, then 8 payments are
# pushed 0.3 s apart while the server computes the whole worklist in the background. Prints each
# push's answer time and what the server reported (ARPILOT_TIMING). With a second binary, both
# are started in turn, ROUNDS times, on the same database. READERS=2 SETTLE=5: the pushes start
# 5 s after the start (the worklist computed) while 2 loops request `GET /api/report` meanwhile.
#
# Usage: bench/run_start_pushes.sh [INVOICES] [OTHER_ARPILOT_BINARY]
#        env: ROUNDS=3, READERS=0, SETTLE=0 (seconds), DB=path (an existing ledger to use instead of importing the generated
#        set into bench/data/pushes-N/ledger.db), CARGO_TARGET_DIR (honoured).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
N=${1:-10000000}
OTHER=${2:-}
ROUNDS=${ROUNDS:-3}
READERS=${READERS:-0}
SETTLE=${SETTLE:-0}
export CI=1 # no progress bar from `arpilot import`

cargo build --release --locked --quiet
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/arpilot
DATA=bench/data/g$N
WORK=bench/data/pushes-$N
mkdir -p "$WORK"
DB=${DB:-$WORK/ledger.db}
[ -f "$DATA/customers.csv" ] || "$BIN" generate --invoices "$N" --output "$DATA" --seed 1
[ -f "$DB" ] || "$BIN" import "$DATA" --db "$DB"
CUST=$(awk -F, 'NR == 2 { print $1; exit }' "$DATA/customers.csv")
ARPILOT_PASSWORD=bench-pushes "$BIN" users --db "$DB" add bench-pushes --role manager >/dev/null 2>&1 || true
TOKEN=$("$BIN" users --db "$DB" token bench-pushes --name "bench $$" | tail -n 1)

PID=""
trap '[ -z "$PID" ] || kill "$PID" 2>/dev/null || true' EXIT
ERR=$WORK/serve.err

. bench/serve.sh
start() { # binary
  ARPILOT_TIMING=1 start_serve "$1" "$DB" "$ERR"
  PID=$SERVER_PID
}
stop() {
  kill "$PID" && wait "$PID" 2>/dev/null || true
  PID=""
}

# Without an image yet, a first start builds the view from the ledger and writes it.
if [ ! -f "$DB.image" ]; then
  start "$BIN"
  until grep -q 'image of .* written' "$ERR"; do sleep 0.1; done
  stop
fi

run() { # label binary round
  local label=$1 i answers=() readers=() k
  start "$2"
  sleep "$SETTLE"
  for k in $(seq 1 "$READERS"); do
    while :; do
      curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" "${URL}api/report" || break
    done &
    readers+=($!)
  done
  for i in 1 2 3 4 5 6 7 8; do
    answers+=("$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $TOKEN" \
      -H 'Content-Type: application/json' "${URL}api/events" \
      -d "{\"events\":[{\"type\":\"payment\",\"payment_id\":\"START-$$-$label-$3-$i\",\"customer_id\":\"$CUST\",\"date\":\"2026-10-31\",\"amount\":\"10.00\"}]}" |
      awk '{ printf "%.1f", $1 * 1000 }')")
    sleep 0.3
  done
  for k in "${readers[@]}"; do kill "$k" 2>/dev/null || true; done
  sleep 3 # the worklist computed once the pushes stop
  stop
  echo "$label round $3: answers (ms) ${answers[*]}"
  grep -E 'snapshot read|worklist|waited|image' "$ERR" | sed 's/^/    /'
}

for r in $(seq 1 "$ROUNDS"); do
  [ -z "$OTHER" ] || run other "$OTHER" "$r"
  run head "$BIN" "$r"
done
