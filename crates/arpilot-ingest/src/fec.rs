//! The French FEC (Fichier des Écritures Comptables, article A47 A-1 of the Livre des procédures
//! fiscales): every journal line of a fiscal year, TAB or `|` separated, first line the field
//! names; 18 fields (Debit/Credit or Montant/Sens) and the 21–22 field BNC/BA variants.
//!
//! Receivables come from the customer accounts (`411…`), one customer per auxiliary account
//! (`CompAuxNum`, else the account itself):
//! - a debit on a customer account is an invoice (due after the customer's payment terms, 30 days
//!   by default, or on the date of a due-date column when the file has one);
//! - a credit is a credit note when its entry books sales (`70…`), a write-off when it books a
//!   bad-debt loss (`654…`, `6714…`) and no cash, a payment otherwise;
//! - lines sharing a letter (`EcritureLet`) on the same customer are matched together on the
//!   lettering date (`DateLet`), oldest invoice first.
//!
//! Dates are `EcritureDate` (the accounting date), so each customer's balance equals the debit
//! minus the credit of its lines, as in the general ledger.

use crate::IngestError;
use crate::text;
use arpilot_core::ledger::*;
use arpilot_core::{Currency, Day, Snapshot};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Files above this size are refused before reading.
pub const MAX_BYTES: u64 = 1 << 30;

#[derive(Clone, Debug)]
pub struct FecOptions {
    pub default_terms_days: i32,
    /// Payment terms per customer id.
    pub terms: HashMap<String, i32>,
    pub currency: Currency,
}

impl Default for FecOptions {
    fn default() -> Self {
        FecOptions {
            default_terms_days: 30,
            terms: HashMap::new(),
            currency: Currency::EUR,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FecSummary {
    pub lines: u64,
    pub customer_lines: u64,
    pub customers: u64,
    pub invoices: u64,
    pub credit_notes: u64,
    pub write_offs: u64,
    pub payments: u64,
    pub allocations: u64,
    pub encoding: String,
    pub separator: char,
}

/// Does this text start like an FEC (its first line names the FEC fields)?
pub fn looks_like_fec(head: &[u8]) -> bool {
    let (s, _) = text::decode(&head[..head.len().min(4096)]);
    let first = text::lines(&s)
        .next()
        .map_or("", |l| l.1)
        .to_ascii_lowercase();
    first.contains("journalcode") && first.contains("comptenum")
}

/// One customer-account line, as needed to build events.
struct Line {
    no: u64,
    entry: usize,
    customer: usize,
    date: Day,
    due: Option<Day>,
    /// Debit minus credit, in minor units.
    net: i64,
    letter: String,
    date_let: Option<Day>,
    piece: String,
    journal: String,
    num: String,
}

#[derive(Default, Clone, Copy)]
struct EntryKind {
    cash: bool,
    sales: bool,
    bad_debt: bool,
}

struct Cols {
    journal: usize,
    num: usize,
    date: usize,
    account: usize,
    account_lib: Option<usize>,
    aux: Option<usize>,
    aux_lib: Option<usize>,
    piece: Option<usize>,
    amount: Amount,
    letter: Option<usize>,
    date_let: Option<usize>,
    due: Option<usize>,
}

enum Amount {
    DebitCredit(usize, usize),
    MontantSens(usize, usize),
}

/// Reads an FEC file into ledger events (customers, invoices, credit notes, write-offs,
/// payments, allocations), each with the line it came from.
pub fn read(
    path: &Path,
    opts: &FecOptions,
) -> Result<(Vec<(u64, Event)>, FecSummary), IngestError> {
    let file_err = |message: String| IngestError::File {
        file: path.to_path_buf(),
        message,
    };
    let meta = std::fs::metadata(path).map_err(|source| IngestError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    if meta.len() > MAX_BYTES {
        return Err(file_err(format!(
            "{} bytes: larger than the {} bytes an FEC import accepts",
            meta.len(),
            MAX_BYTES
        )));
    }
    let bytes = std::fs::read(path).map_err(|source| IngestError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    parse(path, &bytes, opts)
}

/// Parses FEC content read from `path` (named in errors).
pub fn parse(
    path: &Path,
    bytes: &[u8],
    opts: &FecOptions,
) -> Result<(Vec<(u64, Event)>, FecSummary), IngestError> {
    let file = path.to_path_buf();
    let (text, encoding) = text::decode(bytes);
    let mut lines = text::lines(&text).filter(|(_, l)| !l.trim().is_empty());
    let Some((header_no, header)) = lines.next() else {
        return Err(IngestError::File {
            file,
            message: "empty file (expected the FEC field names on the first line)".into(),
        });
    };
    let sep = if header.contains('\t') {
        '\t'
    } else if header.contains('|') {
        '|'
    } else {
        return Err(IngestError::Row {
            file,
            line: header_no,
            message: "expected fields separated by TAB or | (article A47 A-1, VI.1°c)".into(),
        });
    };
    let names: Vec<String> = header
        .split(sep)
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let cols = columns(&file, &names)?;
    let width = names
        .iter()
        .rposition(|n| !n.is_empty())
        .map_or(0, |p| p + 1);

    let mut summary = FecSummary {
        encoding: format!("{encoding:?}"),
        separator: sep,
        ..FecSummary::default()
    };
    let mut entries: HashMap<(String, String), usize> = HashMap::new();
    let mut kinds: Vec<EntryKind> = Vec::new();
    let mut customers: Vec<(String, String)> = Vec::new();
    let mut customer_ix: HashMap<String, usize> = HashMap::new();
    let mut out_lines: Vec<Line> = Vec::new();
    for (no, raw) in lines {
        summary.lines += 1;
        let f: Vec<&str> = raw.split(sep).map(str::trim).collect();
        if f.len() < width {
            return Err(IngestError::Row {
                file,
                line: no,
                message: format!("expected {width} fields like the header, found {}", f.len()),
            });
        }
        let field_err = |col: usize, message: String| IngestError::Field {
            file: file.clone(),
            line: no,
            column: header_name(&names, col),
            message,
        };
        let key = (f[cols.journal].to_string(), f[cols.num].to_string());
        let next = kinds.len();
        let entry = *entries.entry(key).or_insert(next);
        if entry == next {
            kinds.push(EntryKind::default());
        }
        let account = f[cols.account];
        let k = &mut kinds[entry];
        k.cash |= account.starts_with('5');
        k.sales |= account.starts_with("70");
        k.bad_debt |= account.starts_with("654") || account.starts_with("6714");
        if !account.starts_with("411") {
            continue;
        }
        summary.customer_lines += 1;
        let net = match cols.amount {
            Amount::DebitCredit(d, c) => {
                let debit = amount(f[d]).map_err(|m| field_err(d, m))?;
                let credit = amount(f[c]).map_err(|m| field_err(c, m))?;
                debit - credit
            }
            Amount::MontantSens(m, s) => {
                let v = amount(f[m]).map_err(|e| field_err(m, e))?;
                match f[s] {
                    "D" | "d" | "+1" | "1" => v,
                    "C" | "c" | "-1" => -v,
                    other => {
                        return Err(field_err(
                            s,
                            format!("expected D, C, +1 or -1, found {other:?}"),
                        ));
                    }
                }
            }
        };
        let aux = cols.aux.map_or("", |c| f[c]);
        let (id, name) = if aux.is_empty() {
            (account, cols.account_lib.map_or("", |c| f[c]))
        } else {
            (aux, cols.aux_lib.map_or("", |c| f[c]))
        };
        let customer = match customer_ix.get(id) {
            Some(&c) => c,
            None => {
                customers.push((
                    id.to_string(),
                    if name.is_empty() { id } else { name }.to_string(),
                ));
                customer_ix.insert(id.to_string(), customers.len() - 1);
                customers.len() - 1
            }
        };
        let date = fec_date(f[cols.date]).map_err(|m| field_err(cols.date, m))?;
        let opt_date = |c: Option<usize>| -> Result<Option<Day>, IngestError> {
            match c.map(|c| (c, f[c])) {
                Some((c, v)) if !v.is_empty() => fec_date(v).map(Some).map_err(|m| field_err(c, m)),
                _ => Ok(None),
            }
        };
        out_lines.push(Line {
            no,
            entry,
            customer,
            date,
            due: opt_date(cols.due)?,
            net,
            letter: cols.letter.map_or("", |c| f[c]).to_string(),
            date_let: opt_date(cols.date_let)?,
            piece: cols.piece.map_or("", |c| f[c]).to_string(),
            journal: f[cols.journal].to_string(),
            num: f[cols.num].to_string(),
        });
    }
    let events = to_events(&customers, &out_lines, &kinds, opts, &mut summary);
    Ok((events, summary))
}

fn header_name(names: &[String], col: usize) -> String {
    names
        .get(col)
        .cloned()
        .unwrap_or_else(|| format!("#{}", col + 1))
}

fn columns(file: &Path, names: &[String]) -> Result<Cols, IngestError> {
    let find = |n: &str| names.iter().position(|h| h == n);
    let need = |n: &str| {
        find(&n.to_ascii_lowercase()).ok_or_else(|| IngestError::File {
            file: PathBuf::from(file),
            message: format!("missing FEC field {n:?} (found: {})", names.join(", ")),
        })
    };
    let amount = match (find("debit"), find("credit"), find("montant"), find("sens")) {
        (Some(d), Some(c), _, _) => Amount::DebitCredit(d, c),
        (_, _, Some(m), Some(s)) => Amount::MontantSens(m, s),
        _ => {
            return Err(IngestError::File {
                file: PathBuf::from(file),
                message:
                    "missing FEC amount fields (expected Debit and Credit, or Montant and Sens)"
                        .into(),
            });
        }
    };
    Ok(Cols {
        journal: need("JournalCode")?,
        num: need("EcritureNum")?,
        date: need("EcritureDate")?,
        account: need("CompteNum")?,
        account_lib: find("comptelib"),
        aux: find("compauxnum"),
        aux_lib: find("compauxlib"),
        piece: find("pieceref"),
        amount,
        letter: find("ecriturelet"),
        date_let: find("datelet"),
        due: find("dateecheance")
            .or(find("echeance"))
            .or(find("dateech")),
    })
}

/// `YYYYMMDD` (also accepts `YYYY-MM-DD` and `DD/MM/YYYY`, which some exports write).
fn fec_date(s: &str) -> Result<Day, String> {
    let bad = || format!("expected a date as YYYYMMDD, found {s:?}");
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    let (y, m, d) = if b.len() == 8 && b.iter().all(u8::is_ascii_digit) {
        (num(0..4), num(4..6), num(6..8))
    } else if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        (num(0..4), num(5..7), num(8..10))
    } else if b.len() == 10 && b[2] == b'/' && b[5] == b'/' {
        (num(6..10), num(3..5), num(0..2))
    } else {
        return Err(bad());
    };
    match (y, m, d) {
        (Some(y), Some(m), Some(d)) => {
            let day = Day::from_ymd(y as i32, m, d).ok_or_else(bad)?;
            if day.is_supported() {
                Ok(day)
            } else {
                Err(format!(
                    "expected a date from 1900-01-01 to 2199-12-31, found {s:?}"
                ))
            }
        }
        _ => Err(bad()),
    }
}

/// An FEC amount: comma (or dot) decimals, no thousands separator, sign first or last,
/// possibly zero-padded; empty is zero.
fn amount(s: &str) -> Result<i64, String> {
    let bad = || format!("expected an amount such as 1234,56 or -12,00, found {s:?}");
    let t = s.trim();
    if t.is_empty() {
        return Ok(0);
    }
    let (neg, body) = if let Some(r) = t.strip_prefix('-') {
        (true, r)
    } else if let Some(r) = t.strip_suffix('-') {
        (true, r)
    } else {
        (false, t.strip_prefix('+').unwrap_or(t))
    };
    let body = body.replace(',', ".");
    let v = arpilot_core::money::parse_minor(&body, 2).map_err(|_| bad())?;
    Ok(if neg { -v } else { v })
}

fn to_events(
    customers: &[(String, String)],
    lines: &[Line],
    kinds: &[EntryKind],
    opts: &FecOptions,
    summary: &mut FecSummary,
) -> Vec<(u64, Event)> {
    let mut ev = Vec::new();
    for (id, name) in customers {
        ev.push((
            0,
            Event::Customer(CustomerRec {
                id: id.clone(),
                name: name.clone(),
                credit_limit: None,
                payment_terms_days: Some(
                    opts.terms
                        .get(id)
                        .copied()
                        .unwrap_or(opts.default_terms_days),
                ),
                attrs: vec![],
            }),
        ));
    }
    summary.customers = customers.len() as u64;
    // Ids: journal, entry number and rank among the entry's customer lines, stable across
    // re-exports of the same books.
    let mut rank: HashMap<usize, u32> = HashMap::new();
    let mut ids: Vec<Option<String>> = Vec::with_capacity(lines.len());
    for l in lines {
        let r = rank.entry(l.entry).or_insert(0);
        *r += 1;
        if l.net == 0 {
            ids.push(None);
            continue;
        }
        let id = format!("{}-{}-{}", l.journal, l.num, r);
        let cust = customers[l.customer].0.clone();
        let attrs = vec![
            ("journal".to_string(), l.journal.clone()),
            ("piece_ref".to_string(), l.piece.clone()),
        ];
        if l.net > 0 {
            summary.invoices += 1;
            ev.push((
                l.no,
                Event::Document(DocumentRec {
                    due: l.due,
                    attrs,
                    ..DocumentRec::new(id.clone(), cust, DocKind::Invoice, l.date, l.net)
                }),
            ));
        } else {
            let k = kinds[l.entry];
            let doc = |kind| {
                Event::Document(DocumentRec {
                    attrs: attrs.clone(),
                    ..DocumentRec::new(id.clone(), cust.clone(), kind, l.date, -l.net)
                })
            };
            let e = if k.sales && !k.cash {
                summary.credit_notes += 1;
                doc(DocKind::CreditNote)
            } else if k.bad_debt && !k.cash {
                summary.write_offs += 1;
                doc(DocKind::WriteOff)
            } else {
                summary.payments += 1;
                Event::Payment(PaymentRec {
                    id: id.clone(),
                    customer_id: cust.clone(),
                    date: l.date,
                    amount: -l.net,
                    currency: None,
                    invoice_id: None,
                    reference: Some(l.piece.clone()).filter(|p| !p.is_empty()),
                })
            };
            ev.push((l.no, e));
        }
        ids.push(Some(id));
    }
    // Lettering: per customer and letter, credits settle debits, oldest first.
    let mut groups: HashMap<(usize, &str), Vec<usize>> = HashMap::new();
    for (k, l) in lines.iter().enumerate() {
        if !l.letter.is_empty() && ids[k].is_some() {
            groups
                .entry((l.customer, l.letter.as_str()))
                .or_default()
                .push(k);
        }
    }
    let mut keys: Vec<_> = groups.keys().copied().collect();
    keys.sort();
    for key in keys {
        let members = &groups[&key];
        let date_let = members.iter().filter_map(|&k| lines[k].date_let).max();
        let mut debits: Vec<(Day, usize, i64)> = Vec::new();
        let mut credits: Vec<(Day, usize, i64)> = Vec::new();
        for &k in members {
            let l = &lines[k];
            if l.net > 0 {
                debits.push((l.date, k, l.net));
            } else {
                credits.push((l.date, k, -l.net));
            }
        }
        debits.sort();
        credits.sort();
        let (mut i, mut j) = (0, 0);
        while i < debits.len() && j < credits.len() {
            let a = debits[i].2.min(credits[j].2);
            let day = [Some(debits[i].0), Some(credits[j].0), date_let]
                .into_iter()
                .flatten()
                .max()
                .expect("dates");
            ev.push((
                lines[credits[j].1].no,
                Event::Allocation(AllocationRec {
                    source_id: ids[credits[j].1].clone().expect("id"),
                    invoice_id: ids[debits[i].1].clone().expect("id"),
                    date: day,
                    amount: a,
                }),
            ));
            summary.allocations += 1;
            debits[i].2 -= a;
            credits[j].2 -= a;
            if debits[i].2 == 0 {
                i += 1;
            }
            if credits[j].2 == 0 {
                j += 1;
            }
        }
    }
    ev
}

/// Reads an FEC file into a snapshot.
pub fn load(path: &Path, opts: &FecOptions) -> Result<(Snapshot, FecSummary), IngestError> {
    let (events, summary) = read(path, opts)?;
    let snap = crate::build_with_lines(path, opts.currency, events)?;
    Ok((snap, summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_dates_as_fec_writes_them() {
        assert_eq!(amount("0000000074,70"), Ok(7470));
        assert_eq!(amount("1234,5"), Ok(123_450));
        assert_eq!(amount("-12,00"), Ok(-1200));
        assert_eq!(amount("12,00-"), Ok(-1200));
        assert_eq!(amount(""), Ok(0));
        assert!(amount("1 234,00").is_err());
        assert!(amount("12,345").is_err());
        assert_eq!(fec_date("20230109"), Ok(Day::from_ymd(2023, 1, 9).unwrap()));
        assert_eq!(
            fec_date("09/01/2023"),
            Ok(Day::from_ymd(2023, 1, 9).unwrap())
        );
        assert!(fec_date("20231301").is_err());
    }

    fn events_of(text: &str) -> Vec<Event> {
        parse(Path::new("t.txt"), text.as_bytes(), &FecOptions::default())
            .unwrap()
            .0
            .into_iter()
            .map(|e| e.1)
            .collect()
    }

    const HEAD: &str = "JournalCode|JournalLib|EcritureNum|EcritureDate|CompteNum|CompteLib|CompAuxNum|CompAuxLib|PieceRef|PieceDate|EcritureLib|Debit|Credit|EcritureLet|DateLet|ValidDate|Montantdevise|Idevise\n";

    #[test]
    fn sales_bank_and_lettering() {
        let text = format!(
            "{HEAD}\
VE|Ventes|1|20230110|41100000|Clients|C1|Alpha|F1|20230110|Facture F1|120,00|0,00|AA|20230215||||\n\
VE|Ventes|1|20230110|70600000|Prestations|||F1|20230110|Facture F1|0,00|100,00|||||\n\
VE|Ventes|1|20230110|44571000|TVA|||F1|20230110|Facture F1|0,00|20,00|||||\n\
BQ|Banque|2|20230212|51200000|Banque|||VIR|20230212|Virement|120,00|0,00|||||\n\
BQ|Banque|2|20230212|41100000|Clients|C1|Alpha|VIR|20230212|Virement|0,00|120,00|AA|20230215||||\n\
VE|Ventes|3|20230220|41100000|Clients|C1|Alpha|AV1|20230220|Avoir|0,00|24,00|||||\n\
VE|Ventes|3|20230220|70600000|Prestations|||AV1|20230220|Avoir|20,00|0,00|||||\n"
        );
        let ev = events_of(&text);
        let kinds: Vec<&str> = ev
            .iter()
            .map(|e| match e {
                Event::Customer(_) => "customer",
                Event::Document(d) if d.kind == DocKind::Invoice => "invoice",
                Event::Document(d) if d.kind == DocKind::CreditNote => "credit_note",
                Event::Payment(_) => "payment",
                Event::Allocation(_) => "allocation",
                _ => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "customer",
                "invoice",
                "payment",
                "credit_note",
                "allocation"
            ]
        );
        let Event::Allocation(a) = &ev[4] else {
            panic!()
        };
        assert_eq!(
            (a.amount, a.date.to_string()),
            (12_000, "2023-02-15".to_string())
        );
        let Event::Document(inv) = &ev[1] else {
            panic!()
        };
        assert_eq!(inv.id, "VE-1-1");
        let snap = Snapshot::build(Currency::EUR, ev).unwrap();
        // Due 30 days after 10 January; balance = 120 − 120 − 24.
        assert_eq!(Day(snap.invoices.due[0]).to_string(), "2023-02-09");
        let r = arpilot_core::report::report(
            &snap,
            &arpilot_core::Selection::all(),
            &arpilot_core::ReportParams::new(Day::from_ymd(2023, 3, 1).unwrap()),
        )
        .unwrap();
        assert_eq!(r.totals.balance.to_string(), "-24.00");
    }

    #[test]
    fn montant_sens_variant_and_errors() {
        let text = "JournalCode\tEcritureNum\tEcritureDate\tCompteNum\tCompAuxNum\tMontant\tSens\n\
VE\t1\t20230110\t411\tC1\t50,00\tD\n\
VE\t2\t20230111\t411\tC1\t20,00\t-1\n";
        let ev = events_of(text);
        assert_eq!(ev.len(), 3);
        let err = parse(Path::new("t.txt"), b"JournalCode\tEcritureNum\tEcritureDate\tCompteNum\tMontant\tSens\nVE\t1\t2023-13-01\t411\t1,00\tD\n", &FecOptions::default()).unwrap_err();
        assert!(
            err.to_string()
                .contains("t.txt, line 2, column ecrituredate: expected a date as YYYYMMDD"),
            "{err}"
        );
        let err = parse(
            Path::new("t.txt"),
            b"a,b,c\n1,2,3\n",
            &FecOptions::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("expected fields separated by TAB or |"),
            "{err}"
        );
        let err = parse(Path::new("t.txt"), b"", &FecOptions::default()).unwrap_err();
        assert!(err.to_string().contains("empty file"), "{err}");
    }
}
