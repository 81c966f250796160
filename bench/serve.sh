# Sourced by the bench scripts. start_serve BIN DB ERR: starts `BIN serve --db DB` on a free local
# port, its stderr in ERR, and waits until it serves; sets SERVER_PID and URL (ending in /).
start_serve() {
  local bin=$1 db=$2 err=$3
  : >"$err"
  "$bin" serve --db "$db" --listen 127.0.0.1:0 2>"$err" &
  SERVER_PID=$!
  until grep -q 'serving http' "$err"; do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$err" >&2; exit 1; }
    sleep 0.005
  done
  URL=$(grep -oE 'http://[0-9.:]+/' "$err" | head -n 1)
}
