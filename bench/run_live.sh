#!/usr/bin/env bash
# Live paths of `arpilot serve` on a SQLite ledger of N invoices (default 1 000 000): start-up
# (spawn -> URL printed) and RSS, API push of one payment (answer time, delay until the `ledger`
# server-sent event; the start-up is measured three times: from the image the CSV import left,
# without an image, and from the image the server wrote), an `arpilot import` of 1 000 payments beside the running server (delay until
# the event), a call recorded through the API (answer, delay until the event), the worklist of
# the team and of one collector, first and cached views of a past date, one customer's file and
# rating, the dashboard JSON. Builds and measures target/release/arpilot; a second argument names another arpilot binary
# (e.g. a baseline commit built elsewhere) measured the same way in the same run, each binary on a
# database it imported itself.
#
# Usage: bench/run_live.sh [INVOICES] [OTHER_ARPILOT_BINARY]
#        env: PUSHES=5 (pushes per run, median reported), PAST=2026-06-30 (the past date viewed),
#        OTHER_LABEL=other (column name of the second binary), CARGO_TARGET_DIR (honoured). Work files go to bench/data/live-N/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
N=${1:-1000000}
OTHER=${2:-}
PUSHES=${PUSHES:-5}
PAST=${PAST:-2026-06-30}
export CI=1 # no progress bar from `arpilot import`

cargo build --release --locked --quiet
HEAD_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/arpilot
DATA=bench/data/g$N
[ -f "$DATA/invoices.csv" ] || "$HEAD_BIN" generate --invoices "$N" --output "$DATA" --seed 1
WORK=bench/data/live-$N
mkdir -p "$WORK"

# --- processes started here, stopped on exit --------------------------------------------------
SERVER_PID="" CURL_PID="" STAMP_PID=""
stop() {
  for p in $CURL_PID $STAMP_PID $SERVER_PID; do
    kill "$p" 2>/dev/null || true
  done
  for p in $CURL_PID $STAMP_PID $SERVER_PID; do
    wait "$p" 2>/dev/null || true
  done
  SERVER_PID="" CURL_PID="" STAMP_PID=""
}
trap stop EXIT
trap 'exit 130' INT TERM

now() { echo "$EPOCHREALTIME"; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# --- inputs shared by every run ----------------------------------------------------------------
# The customer of the pushes and the file views: the first of customers.csv; the import beside
# the server: 1 000 new unapplied payments spread over the first 100 customers (their rows copied
# as they are, so nothing is amended).
CUST=$(awk -F, 'NR == 2 { print $1; exit }' "$DATA/customers.csv")
# The collector of the first customer (the worklist of one collector).
COLLECTOR=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "collector") c = i } NR == 2 { print $c; exit }' "$DATA/customers.csv")
COLLECTOR_Q=$(printf '%s' "$COLLECTOR" | sed 's/ /%20/g')
IMP=$WORK/import-1000-payments
rm -rf "$IMP" && mkdir -p "$IMP"
head -n 101 "$DATA/customers.csv" >"$IMP/customers.csv"
head -n 1 "$DATA/invoices.csv" >"$IMP/invoices.csv"
awk -F, 'NR > 1 { print $1 }' "$IMP/customers.csv" >"$IMP/ids"
{
  echo "payment_id,customer_id,date,amount,reference"
  awk '{ id[NR] = $1 } END { for (i = 1; i <= 1000; i++) printf "LIVE-IMP-%04d,%s,2026-10-31,%d.%02d,bench\n", i, id[(i - 1) % NR + 1], 10 + i % 90, i % 100 }' "$IMP/ids"
} >"$IMP/payments.csv"
rm -f "$IMP/ids"

declare -A R # R[label,metric]
METRICS=()
put() { # label metric value
  R[$1,$2]=$3
  local m
  for m in "${METRICS[@]}"; do [ "$m" = "$2" ] && return 0; done
  METRICS+=("$2")
}

# ledger events seen on the stream so far
events_seen() { grep -c ' event: ledger' "$SSE" || true; }
# waits for more than $1 ledger events; prints the stamp of the next one
wait_event() {
  local before=$1 limit=$((SECONDS + 300))
  while [ "$(events_seen)" -le "$before" ]; do
    if [ $SECONDS -ge $limit ]; then
      echo "no ledger event within 300 s" >&2
      echo "nan"
      return 0
    fi
    sleep 0.002
  done
  grep ' event: ledger' "$SSE" | sed -n "$((before + 1))p" | cut -d' ' -f1
}

# GET $2 with the token; prints time_total in ms (checks the status)
get() {
  local label=$1 path=$2 out
  out=$(curl -s -o "$WORK/$label.body" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $TOKEN" "$URL${path#/}")
  [ "${out%% *}" = 200 ] || echo "warning: $label GET $path answered ${out%% *}: $(head -c 300 "$WORK/$label.body")" >&2
  awk -v t="${out#* }" 'BEGIN { printf "%.1f", t * 1000 }'
}

run() { # label binary
  local label=$1 bin=$2
  local db=$WORK/$label.db
  echo "== $label: $bin" >&2
  rm -f "$db" "$db-wal" "$db-shm"

  local t0 t1 line
  t0=$(now)
  ARPILOT_TIMING=1 "$bin" import "$DATA" --db "$db" >"$WORK/$label.import.log" 2>&1 || { cat "$WORK/$label.import.log" >&2; exit 1; }
  t1=$(now)
  line=$(grep -E 'rows/s' "$WORK/$label.import.log" | tail -n 1 || true)
  put "$label" "import of the CSV set (s)" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
  put "$label" "import rows/s (printed)" "$(echo "$line" | grep -oE '\(([0-9]+) rows/s' | tr -dc 0-9)"
  put "$label" "database size (MB)" "$(du -m "$db" | cut -f1)"
  put "$label" "image left by the import (printed)" "$(grep -oE 'image after the import: .*' "$WORK/$label.import.log" | head -n 1)"

  ARPILOT_PASSWORD=bench-live "$bin" users --db "$db" add bench --role manager >/dev/null
  TOKEN=$("$bin" users --db "$db" token bench --name bench | tail -n 1)

  # start-up: spawn -> "serving http://..." on stderr; first from the image the import left
  # (when it left one), then without an image of the ledger (the server builds its view from
  # every stored event, then writes the image), then again from that image
  local err=$WORK/$label.serve.err start
  for start in import cold image; do
    if [ "$start" = import ]; then
      [ -f "$db.image" ] || continue
    fi
    [ "$start" = cold ] && rm -f "$db.image"
    : >"$err"
    t0=$(now)
    ARPILOT_TIMING=1 "$bin" serve --db "$db" --listen 127.0.0.1:0 2>"$err" &
    SERVER_PID=$!
    until grep -q 'serving http' "$err"; do
      kill -0 "$SERVER_PID" 2>/dev/null || { cat "$err" >&2; exit 1; }
      sleep 0.005
    done
    t1=$(now)
    URL=$(grep -oE 'http://[0-9.:]+/' "$err" | head -n 1)
    put "$label" "serve ready ($start): spawn -> URL (ms)" "$(ms "$t0" "$t1")"
    sleep 0.5
    put "$label" "RSS after ready ($start, MB)" "$(($(ps -o rss= -p "$SERVER_PID") / 1024))"
    put "$label" "peak RSS at start ($start, MB)" "$(($(awk '/VmHWM/ { print $2 }' "/proc/$SERVER_PID/status") / 1024))"
    [ "$start" = import ] && { kill "$SERVER_PID" && wait "$SERVER_PID" 2>/dev/null || true; }
    if [ "$start" = cold ]; then
      local limit=$((SECONDS + 600))
      until grep -q 'image of .* written' "$err"; do
        [ $SECONDS -lt $limit ] || { echo "no image written within 600 s" >&2; cat "$err" >&2; exit 1; }
        sleep 0.05
      done
      put "$label" "image written after the cold start (printed)" "$(grep -oE 'image of .* written .*' "$err" | head -n 1)"
      put "$label" "image size (MB)" "$(du -m "$db.image" | cut -f1)"
      kill "$SERVER_PID" && wait "$SERVER_PID" 2>/dev/null || true
    fi
  done
  grep -E 'snapshot read from the image' "$err" >&2 || true

  # the live stream, every line stamped on arrival
  SSE=$WORK/$label.sse
  local fifo=$WORK/$label.fifo hdr=$WORK/$label.sse.headers
  rm -f "$fifo" "$hdr" && mkfifo "$fifo" && : >"$SSE"
  curl -sN -D "$hdr" -H "Authorization: Bearer $TOKEN" "${URL}events" >"$fifo" &
  CURL_PID=$!
  while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done <"$fifo" >"$SSE" &
  STAMP_PID=$!
  until grep -q '^HTTP/1.1 200' "$hdr" 2>/dev/null; do sleep 0.005; done
  sleep 0.2

  # pushes of one new payment each
  local i before sent answer ev pushes=() walls=() delays=()
  for i in $(seq 1 "$PUSHES"); do
    before=$(events_seen)
    sent=$(now)
    answer=$(curl -s -o "$WORK/$label.push.body" -w '%{http_code} %{time_total}' \
      -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "${URL}api/events" \
      -d "{\"events\":[{\"type\":\"payment\",\"payment_id\":\"BENCH-$i\",\"customer_id\":\"$CUST\",\"date\":\"2026-10-31\",\"amount\":\"10.00\"}]}")
    walls+=("$(ms "$sent" "$(now)")")
    grep -q '"appended":1' "$WORK/$label.push.body" ||
      echo "warning: push $i answered ${answer%% *}: $(head -c 300 "$WORK/$label.push.body")" >&2
    ev=$(wait_event "$before")
    pushes+=("$(awk -v t="${answer#* }" 'BEGIN { printf "%.1f", t * 1000 }')")
    delays+=("$(ms "$sent" "$ev")")
    sleep 1 # past the watcher's half-second tick: a late second event would be counted here
  done
  put "$label" "push 1 payment: answer (ms, median of $PUSHES)" "$(printf '%s\n' "${pushes[@]}" | median)"
  put "$label" "push 1 payment: send -> answer, wall (ms, median)" "$(printf '%s\n' "${walls[@]}" | median)"
  put "$label" "push 1 payment: send -> SSE (ms, median)" "$(printf '%s\n' "${delays[@]}" | median)"
  put "$label" "push: answers (ms, in order)" "$(
    IFS=/
    echo "${pushes[*]}"
  )"

  # an import of 1 000 payments beside the running server
  before=$(events_seen)
  t0=$(now)
  "$bin" import "$IMP" --db "$db" >"$WORK/$label.import-1000.log" 2>&1 || { cat "$WORK/$label.import-1000.log" >&2; exit 1; }
  t1=$(now)
  ev=$(wait_event "$before")
  put "$label" "import 1000 payments beside: command (ms)" "$(ms "$t0" "$t1")"
  put "$label" "  ... command start -> SSE (ms)" "$(ms "$t0" "$ev")"
  put "$label" "  ... command end -> SSE (ms)" "$(ms "$t1" "$ev")"
  sleep 1
  put "$label" "ledger events on the stream (expected $((PUSHES + 1)))" "$(events_seen)"

  # work recorded through the API: one call each, answer and delay until the open page is told
  local works=() wdelays=()
  for i in $(seq 1 "$PUSHES"); do
    before=$(events_seen)
    sent=$(now)
    answer=$(curl -s -o "$WORK/$label.work.body" -w '%{http_code} %{time_total}' \
      -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "${URL}api/customers/$CUST/work" \
      -d "{\"kind\":\"call\",\"outcome\":\"reached\",\"note\":\"bench $i\"}")
    [ "${answer%% *}" = 200 ] ||
      echo "warning: work $i answered ${answer%% *}: $(head -c 300 "$WORK/$label.work.body")" >&2
    ev=$(wait_event "$before")
    works+=("$(awk -v t="${answer#* }" 'BEGIN { printf "%.1f", t * 1000 }')")
    wdelays+=("$(ms "$sent" "$ev")")
    sleep 1
  done
  put "$label" "record a call (API): answer (ms, median)" "$(printf '%s\n' "${works[@]}" | median)"
  put "$label" "record a call (API): send -> SSE (ms, median)" "$(printf '%s\n' "${wdelays[@]}" | median)"
  put "$label" "GET /api/worklist (team) first (ms)" "$(get "$label" /api/worklist)"
  put "$label" "GET /api/worklist (team) again (ms)" "$(get "$label" /api/worklist)"
  put "$label" "GET /api/worklist (one collector) first (ms)" "$(get "$label" "/api/worklist?filter=collector%3D$COLLECTOR_Q")"
  put "$label" "GET /api/worklist (one collector) again (ms)" "$(get "$label" "/api/worklist?filter=collector%3D$COLLECTOR_Q")"
  put "$label" "GET /api/worklist?per=50 (team, first page) (ms)" "$(get "$label" "/api/worklist?per=50")"
  put "$label" "GET /worklist page (team) (ms)" "$(get "$label" /worklist)"
  put "$label" "GET /worklist page (one collector) (ms)" "$(get "$label" "/worklist?filter=collector%3D$COLLECTOR_Q")"
  # a call recorded, then the collector's worklist at once: its customer's row is computed again
  curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    "${URL}api/customers/$CUST/work" -d '{"kind":"call","outcome":"no_answer","note":"bench again"}'
  put "$label" "GET /api/worklist (one collector) right after a call (ms)" "$(get "$label" "/api/worklist?filter=collector%3D$COLLECTOR_Q")"
  put "$label" "whole worklist computed at start-up / date change (ms)" "$(grep -oE 'worklist of [0-9]+ customers computed in [0-9.]+ ms' "$err" | tail -n 1 | grep -oE '[0-9.]+ ms' | tr -dc 0-9.)"
  put "$label" "GET /api/report?as_of=$PAST first (ms)" "$(get "$label" "/api/report?as_of=$PAST")"
  put "$label" "GET /api/report?as_of=$PAST again (ms)" "$(get "$label" "/api/report?as_of=$PAST")"
  put "$label" "GET /api/customers/{id} first (ms)" "$(get "$label" "/api/customers/$CUST")"
  put "$label" "GET /api/customers/{id} again (ms)" "$(get "$label" "/api/customers/$CUST")"
  put "$label" "GET /api/customers/{id}/rating first (ms)" "$(get "$label" "/api/customers/$CUST/rating")"
  put "$label" "GET /api/customers/{id}/rating again (ms)" "$(get "$label" "/api/customers/$CUST/rating")"
  put "$label" "GET /customers/{id} page first (ms)" "$(get "$label" "/customers/$CUST")"
  put "$label" "GET /customers/{id} page again (ms)" "$(get "$label" "/customers/$CUST")"
  put "$label" "GET /api/report first (ms)" "$(get "$label" /api/report)"
  put "$label" "GET /api/report again (ms)" "$(get "$label" /api/report)"
  put "$label" "RSS at the end (MB)" "$(($(ps -o rss= -p "$SERVER_PID") / 1024))"
  stop
  rm -f "$fifo"
}

LABELS=()
if [ -n "$OTHER" ]; then
  OTHER=$(realpath "$OTHER")
  run "${OTHER_LABEL:-other}" "$OTHER"
  LABELS+=("${OTHER_LABEL:-other}")
fi
run head "$HEAD_BIN"
LABELS+=(head)

echo
echo "arpilot serve live paths, $N invoices ($DATA), SQLite, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
[ -n "$OTHER" ] && echo "${OTHER_LABEL:-other} = $OTHER"
echo "head  = $HEAD_BIN ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!bench' || echo ', modified'))"
echo "customer $CUST"
printf '%-52s' "figure"
for l in "${LABELS[@]}"; do printf ' %16s' "$l"; done
echo
for m in "${METRICS[@]}"; do
  printf '%-52s' "$m"
  for l in "${LABELS[@]}"; do printf ' %16s' "${R[$l,$m]:-}"; done
  echo
done
