-- wrk script: the dashboard page for 50 signed-in users, each on its own as-of date
-- (the last 50 days of the ledger), so every user's figures are computed at least once.
-- Usage: wrk -t2 -c50 -d20s --latency -s bench/wrk-dashboard.lua URL  (ARPILOT_COOKIE=session value)
local cookie = os.getenv("ARPILOT_COOKIE")
local n = 0
setup = function(thread)
  thread:set("id", n)
  n = n + 1
end
local counter = 0
request = function()
  counter = counter + 1
  local day = 31 - ((counter * 7 + id * 13) % 50)
  local date
  if day >= 1 then
    date = string.format("2026-10-%02d", day)
  else
    date = string.format("2026-09-%02d", 30 + day)
  end
  return wrk.format("GET", "/?as_of=" .. date, { ["Cookie"] = "arpilot_session=" .. cookie })
end
