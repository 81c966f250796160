#!/usr/bin/env python3
"""Compare arpilot's engine with DuckDB's SQL on the same CSV ledger set, in the same run.

Usage: compare_duckdb.py --data DIR --as-of YYYY-MM-DD [--arpilot PATH] [--runs N]

1. runs `arpilot bench` on the set (load, aging, full report, trend, append);
2. loads the same CSV files into DuckDB (in memory) and times the aged-balance query: open
   amount of each invoice as of the date (amount minus allocations dated on or before it,
   capped at the amount), bucketed by days overdue;
3. checks that both found the same bucket totals, and prints the timings and the ratios.
"""
import argparse
import json
import statistics
import subprocess
import sys
import time

import duckdb

AGING_SQL = """
WITH alloc AS (
    SELECT invoice_id, date, amount FROM payments WHERE invoice_id IS NOT NULL
    UNION ALL
    SELECT original_invoice_id, issue_date, amount FROM invoices
        WHERE type <> 'invoice' AND original_invoice_id IS NOT NULL
    UNION ALL
    SELECT invoice_id, date, amount FROM allocations
),
applied AS (
    SELECT invoice_id, SUM(amount) AS applied FROM alloc WHERE date <= $d GROUP BY invoice_id
),
open_items AS (
    SELECT i.due_date,
           i.amount - LEAST(i.amount, COALESCE(a.applied, 0)) AS open_amount
    FROM invoices i LEFT JOIN applied a ON a.invoice_id = i.document_id
    WHERE i.type = 'invoice' AND i.issue_date <= $d
)
SELECT CASE
         WHEN $d - due_date <= 0 THEN 0
         WHEN $d - due_date <= 30 THEN 1
         WHEN $d - due_date <= 60 THEN 2
         WHEN $d - due_date <= 90 THEN 3
         WHEN $d - due_date <= 120 THEN 4
         ELSE 5 END AS bucket,
       SUM(open_amount) AS amount,
       COUNT(*) AS n
FROM open_items WHERE open_amount > 0
GROUP BY 1 ORDER BY 1
"""


def load(con, data):
    t = time.perf_counter()
    con.execute(f"""
        CREATE TABLE invoices AS SELECT * FROM read_csv('{data}/invoices.csv', header=true,
            columns={{'document_id': 'VARCHAR', 'customer_id': 'VARCHAR', 'type': 'VARCHAR',
                      'issue_date': 'DATE', 'due_date': 'DATE', 'amount': 'DECIMAL(18,2)',
                      'original_invoice_id': 'VARCHAR', 'in_legal': 'BOOLEAN'}})""")
    con.execute(f"""
        CREATE TABLE payments AS SELECT * FROM read_csv('{data}/payments.csv', header=true,
            columns={{'payment_id': 'VARCHAR', 'customer_id': 'VARCHAR', 'date': 'DATE',
                      'amount': 'DECIMAL(18,2)', 'invoice_id': 'VARCHAR'}})""")
    con.execute(f"""
        CREATE TABLE allocations AS SELECT * FROM read_csv('{data}/allocations.csv', header=true,
            columns={{'source_id': 'VARCHAR', 'invoice_id': 'VARCHAR', 'date': 'DATE',
                      'amount': 'DECIMAL(18,2)'}})""")
    return (time.perf_counter() - t) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--as-of", required=True)
    ap.add_argument("--arpilot", default="target/release/arpilot")
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()

    bench = json.loads(subprocess.run(
        [a.arpilot, "bench", "--data", a.data, "--as-of", a.as_of, "--runs", str(a.runs)],
        check=True, capture_output=True, text=True).stdout)
    report = json.loads(subprocess.run(
        [a.arpilot, "report", "--data", a.data, "--as-of", a.as_of, "--format", "json"],
        check=True, capture_output=True, text=True).stdout)

    con = duckdb.connect()
    load_ms = load(con, a.data)
    times, rows = [], None
    for _ in range(a.runs):
        t = time.perf_counter()
        rows = con.execute(AGING_SQL, {"d": a.as_of}).fetchall()
        times.append((time.perf_counter() - t) * 1000)
    duck_ms = statistics.median(times)

    duck = {b: (f"{amt:.2f}", n) for b, amt, n in rows}
    ours = {k: (b["amount"], b["count"]) for k, b in enumerate(report["aging"])}
    same = all(duck.get(k, ("0.00", 0)) == v for k, v in ours.items())

    out = {
        "invoices": bench["invoices"],
        "as_of": a.as_of,
        "duckdb_version": duckdb.__version__,
        "duckdb_threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
        "duckdb_load_ms": round(load_ms, 1),
        "duckdb_aging_ms": round(duck_ms, 2),
        "arpilot": bench,
        "same_aging": same,
        "ratio_duckdb_aging_over_arpilot_aging": round(duck_ms / bench["aging_ms"], 1),
        "ratio_duckdb_aging_over_arpilot_full_report": round(duck_ms / bench["report_ms"], 1),
    }
    print(json.dumps(out, indent=2))
    if not same:
        print("aging totals differ:", duck, ours, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
