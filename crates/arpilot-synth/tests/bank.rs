//! Bank statements of a generated ledger: both readers accept them, they agree with the truth
//! file and with the ledger, and without them the ledger is byte for byte what it was.

use arpilot_core::Day;
use arpilot_core::cash::{normal_name, parse_creditor_reference};
use arpilot_core::money::parse_minor;
use arpilot_ingest::bank::{BankLine, camt, cfonb};
use arpilot_synth::{BankParams, Params, generate};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// A scratch folder, removed when dropped (also when an assertion fails).
struct Tmp(PathBuf);

impl Tmp {
    fn new(name: &str) -> Tmp {
        let d =
            std::env::temp_dir().join(format!("arpilot-synth-bank-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        Tmp(d)
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn with_bank(invoices: u64, seed: u64) -> Params {
    let mut p = Params::new(invoices, seed);
    p.bank = Some(BankParams::last_month(p.end));
    p
}

/// Every file under `dir` (relative path, bytes), sorted.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, dir, &mut v);
    v.sort();
    v
}

/// A CSV file as rows of fields keyed by the header (quotes around a field are dropped; the
/// generator writes no quote inside a field).
fn csv(path: &Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let split = |line: &str| -> Vec<String> {
        let mut out = vec![String::new()];
        let mut quoted = false;
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => out.push(String::new()),
                c => out.last_mut().unwrap().push(c),
            }
        }
        out
    };
    let mut lines = text.lines();
    let head = split(lines.next().unwrap());
    lines
        .map(|l| {
            let f = split(l);
            assert_eq!(f.len(), head.len(), "{}: {l}", path.display());
            head.iter().cloned().zip(f).collect()
        })
        .collect()
}

fn minor(s: &str) -> i64 {
    parse_minor(s, 2).unwrap()
}

fn day(s: &str) -> Day {
    Day::parse_iso(s).unwrap()
}

/// ISO 13616 check of an IBAN, written independently of the generator's.
fn iban_ok(iban: &str) -> bool {
    let b = iban.as_bytes();
    if b.len() != 27 || !iban.starts_with("FR") || !b[2..].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let moved = format!("{}{}", &iban[4..], &iban[..4]);
    let digits: String = moved
        .chars()
        .map(|c| match c {
            'A'..='Z' => (c as u32 - 'A' as u32 + 10).to_string(),
            c => c.to_string(),
        })
        .collect();
    digits
        .bytes()
        .fold(0u32, |r, d| (r * 10 + u32::from(d - b'0')) % 97)
        == 1
}

fn read(dir: &Path) -> (Vec<BankLine>, Vec<BankLine>) {
    let st = dir.join("statements");
    let c = st.join("camt053.xml");
    let f = st.join("cfonb120.txt");
    let camt = camt::read(&std::fs::read(&c).unwrap(), &c).unwrap();
    let cfonb = cfonb::read(&std::fs::read(&f).unwrap(), &f).unwrap();
    (camt, cfonb)
}

#[test]
fn statements_agree_with_the_truth_and_the_ledger() {
    let dir = Tmp::new("truth");
    let p = with_bank(3_000, 7);
    let from = p.bank.unwrap().from;
    let sum = generate(&p, &dir.0).unwrap();
    let (camt, cfonb) = read(&dir.0);
    let truth = csv(&dir.0.join("statements/truth.csv"));
    assert!(truth.len() > 80, "only {} receipts", truth.len());
    assert_eq!(sum.receipts, truth.len() as u64);
    let credits = |lines: &[BankLine]| -> HashMap<String, BankLine> {
        let v: Vec<&BankLine> = lines.iter().filter(|l| l.amount > 0).collect();
        let map: HashMap<String, BankLine> = v
            .iter()
            .map(|l| (l.bank_ref.clone().unwrap(), (*l).clone()))
            .collect();
        assert_eq!(map.len(), v.len(), "bank references are unique");
        map
    };
    let (camt_in, cfonb_in) = (credits(&camt), credits(&cfonb));
    assert_eq!(camt_in.len(), truth.len());
    assert_eq!(cfonb_in.len(), truth.len());
    // Debits are there too, the same in both.
    let debits = |lines: &[BankLine]| -> Vec<(Day, i64)> {
        lines
            .iter()
            .filter(|l| l.amount < 0)
            .map(|l| (l.date, l.amount))
            .collect()
    };
    assert!(!debits(&camt).is_empty());
    assert_eq!(debits(&camt), debits(&cfonb));

    let customers = csv(&dir.0.join("customers.csv"));
    let iban_of: HashMap<&str, &str> = customers
        .iter()
        .map(|c| (c["customer_id"].as_str(), c["iban"].as_str()))
        .collect();
    let on_file = customers.iter().filter(|c| !c["iban"].is_empty()).count();
    assert!(on_file * 100 >= customers.len() * 60, "{on_file} IBANs");
    assert!(
        on_file < customers.len(),
        "some customers have no IBAN on file"
    );
    for c in &customers {
        assert!(c["iban"].is_empty() || iban_ok(&c["iban"]), "{}", c["iban"]);
    }
    let names: HashSet<String> = customers.iter().map(|c| normal_name(&c["name"])).collect();
    assert_eq!(names.len(), customers.len(), "names tell customers apart");

    // The invoices quoted exist, are the customer's, and are paid no more than is open.
    let invoices = csv(&dir.0.join("invoices.csv"));
    let mut open: HashMap<&str, (String, i64)> = HashMap::new();
    for i in invoices.iter().filter(|i| i["type"] == "invoice") {
        open.insert(
            &i["document_id"],
            (i["customer_id"].clone(), minor(&i["amount"])),
        );
    }
    for i in invoices.iter().filter(|i| i["type"] != "invoice") {
        open.get_mut(i["original_invoice_id"].as_str()).unwrap().1 -= minor(&i["amount"]);
    }
    let payments = csv(&dir.0.join("payments.csv"));
    let allocations = csv(&dir.0.join("allocations.csv"));
    for r in payments.iter().chain(&allocations) {
        assert!(day(&r["date"]) < from, "ledger row in the period: {r:?}");
    }
    for (inv, amount) in payments
        .iter()
        .filter(|r| !r["invoice_id"].is_empty())
        .map(|r| (&r["invoice_id"], &r["amount"]))
        .chain(allocations.iter().map(|r| (&r["invoice_id"], &r["amount"])))
    {
        // An overpayment leaves its excess unapplied.
        let o = &mut open.get_mut(inv.as_str()).unwrap().1;
        *o -= minor(amount).min(*o);
    }
    let mut kinds: HashMap<String, usize> = HashMap::new();
    for t in &truth {
        let date = day(&t["date"]);
        let amount = minor(&t["amount"]);
        assert!(amount > 0 && date >= from && date <= p.end, "{t:?}");
        for (lines, key) in [(&camt_in, "bank_ref"), (&cfonb_in, "cfonb_ref")] {
            let l = &lines[&t[key]];
            assert_eq!((l.date, l.amount), (date, amount), "{t:?}");
            if t["kind"] == "rf" {
                let inv = t["invoices"].split(':').next().unwrap();
                let rf = l
                    .creditor_ref
                    .iter()
                    .chain(
                        l.remittance
                            .split_whitespace()
                            .map(str::to_string)
                            .collect::<Vec<_>>()
                            .iter(),
                    )
                    .find_map(|s| parse_creditor_reference(s));
                assert_eq!(rf.as_deref(), Some(inv), "{t:?}");
            }
            // The payer's IBAN, when given, is the payer's on file.
            if let Some(iban) = &l.payer_iban {
                let known = iban_of[t["payer_id"].as_str()];
                assert!(known.is_empty() || known == iban, "{t:?}");
                assert!(iban_ok(iban));
            }
            assert!(l.payer_name.is_some());
        }
        let mut paid = 0;
        for part in t["invoices"].split(';').filter(|s| !s.is_empty()) {
            let (inv, a) = part.split_once(':').unwrap();
            let a = minor(a);
            let (cust, o) = open.get_mut(inv).unwrap_or_else(|| panic!("no {inv}"));
            assert_eq!(cust, &t["customer_id"]);
            assert!(a > 0 && a <= *o, "{inv}: pays {a}, open {o}");
            *o -= a;
            paid += a;
        }
        assert_eq!(paid == amount, t["kind"] != "on_account", "{t:?}");
        *kinds.entry(t["kind"].clone()).or_default() += 1;
    }
    // The kinds in their shares.
    let n = truth.len() as f64;
    for t in &truth {
        if let Ok(target) = t["kind_target"].parse::<f64>() {
            let share = kinds[&t["kind"]] as f64 / n;
            assert!(
                (share - target).abs() <= 0.03,
                "{}: {share:.3} for {target}",
                t["kind"]
            );
        }
    }
    for k in [
        "clean",
        "rf",
        "typo",
        "truncated",
        "missing",
        "several",
        "partial",
        "fees",
    ] {
        assert!(kinds.contains_key(k), "no {k} in {kinds:?}");
    }
}

#[test]
fn same_seed_same_bytes_over_several_months() {
    let (a, b) = (Tmp::new("a"), Tmp::new("b"));
    let mut p = Params::new(3_000, 11);
    // Three statements: August to October, the period starting mid-month.
    let from = day("2026-08-10");
    p.bank = Some(BankParams { from });
    let s = generate(&p, &a.0).unwrap();
    generate(&p, &b.0).unwrap();
    let fa = files(&a.0);
    assert!(fa.iter().any(|f| f.0 == "statements/truth.csv"));
    assert_eq!(fa, files(&b.0));
    let (camt, cfonb) = read(&a.0);
    let credits = |v: &[BankLine]| v.iter().filter(|l| l.amount > 0).count() as u64;
    assert_eq!((credits(&camt), credits(&cfonb)), (s.receipts, s.receipts));
    let months: HashSet<i32> = camt.iter().map(|l| l.date.month_index()).collect();
    assert_eq!(months.len(), 3);
    assert!(camt.iter().all(|l| l.date >= from && l.date <= p.end));
    let xml = std::fs::read_to_string(a.0.join("statements/camt053.xml")).unwrap();
    assert_eq!(xml.matches("<Stmt>").count(), 3);
}

/// FNV-1a, for the golden hashes below.
fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[test]
fn without_bank_statements_the_ledger_is_unchanged() {
    // Hashes of the files written before bank statements existed (customers.csv since it gained
    // its derived `email` and `language` columns: no draw changed).
    // (invoices, seed, USD share, file hashes)
    type Golden = (u64, u64, f64, &'static [(&'static str, u64)]);
    let golden: [Golden; 2] = [
        (
            3_000,
            7,
            0.0,
            &[
                ("actions.csv", 0xd15e921d1fabf17c),
                ("allocations.csv", 0xcfa53ac9eee19e21),
                ("customers.csv", 0xda29ac3abdd8ef82),
                ("disputes.csv", 0xb830c5fe1de077e2),
                ("invoices.csv", 0x88d9b8f1246d0da3),
                ("payments.csv", 0x60753522c6adf196),
                ("promises.csv", 0x4d7b7a85ece8ad4f),
            ],
        ),
        (
            2_000,
            11,
            0.3,
            &[
                ("actions.csv", 0x1ae2b3c2b6861c2f),
                ("allocations.csv", 0xbf159360599927f2),
                ("customers.csv", 0x18b2bc7b8333f5ee),
                ("disputes.csv", 0x054a567757d0afd6),
                ("invoices.csv", 0x1afc197cbccd9f9f),
                ("payments.csv", 0x8fce9c9ddf580fe3),
                ("promises.csv", 0xdeb8aa151880cd88),
                ("rates.csv", 0xa6bcbe01b0b06a33),
            ],
        ),
    ];
    for (invoices, seed, usd, want) in golden {
        let dir = Tmp::new(&format!("plain-{seed}"));
        let mut p = Params::new(invoices, seed);
        p.usd_share = usd;
        assert_eq!(p.bank, None);
        let s = generate(&p, &dir.0).unwrap();
        assert_eq!(s.receipts, 0);
        let got: Vec<(String, u64)> = files(&dir.0)
            .into_iter()
            .map(|(name, bytes)| (name, fnv(&bytes)))
            .collect();
        let want: Vec<(String, u64)> = want.iter().map(|(n, h)| (n.to_string(), *h)).collect();
        assert_eq!(got, want);
        let customers = std::fs::read_to_string(dir.0.join("customers.csv")).unwrap();
        assert!(!customers.lines().next().unwrap().contains("iban"));
    }
}

#[test]
fn the_ledger_with_statements_is_the_plain_one_before_the_period() {
    let (plain, bank) = (Tmp::new("before-plain"), Tmp::new("before-bank"));
    let p = with_bank(3_000, 5);
    let from = p.bank.unwrap().from;
    generate(&Params::new(3_000, 5), &plain.0).unwrap();
    generate(&p, &bank.0).unwrap();
    let text = |d: &Tmp, f: &str| std::fs::read_to_string(d.0.join(f)).unwrap();
    for f in [
        "invoices.csv",
        "disputes.csv",
        "promises.csv",
        "actions.csv",
    ] {
        assert_eq!(text(&plain, f), text(&bank, f), "{f}");
    }
    // Payments and allocations: the plain ones dated before the period.
    for f in ["payments.csv", "allocations.csv"] {
        let before: Vec<HashMap<String, String>> = csv(&plain.0.join(f))
            .into_iter()
            .filter(|r| day(&r["date"]) < from)
            .collect();
        assert_eq!(before, csv(&bank.0.join(f)), "{f}");
    }
    // Customers: the same but for the IBAN column and a town told apart.
    let (a, b) = (
        csv(&plain.0.join("customers.csv")),
        csv(&bank.0.join("customers.csv")),
    );
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        for (k, v) in x {
            if k == "name" {
                assert!(y[k].starts_with(v.as_str()), "{v} / {}", y[k]);
            } else {
                assert_eq!(v, &y[k]);
            }
        }
    }
}

#[test]
fn a_period_after_the_history_is_refused() {
    let dir = Tmp::new("late");
    let mut p = Params::new(500, 1);
    p.bank = Some(BankParams {
        from: p.end.add_days(1),
    });
    assert!(generate(&p, &dir.0).is_err());
}
