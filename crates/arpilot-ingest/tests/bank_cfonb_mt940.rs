//! The CFONB 120 and MT940 samples of the shared data: every valid file is read with as many
//! credits as the manifest counts, every malformed file and fragment is refused at a line, and
//! values read by hand from the files are pinned (amounts in minor units, such as cents).
//! Synthetic statements test what the samples do not show.

mod common;
use arpilot_core::{Currency, Day};
use arpilot_ingest::IngestError;
use arpilot_ingest::bank::{BankLine, cfonb, mt940};
use common::shared_data;
use std::path::{Path, PathBuf};

/// The bank statements folder of the shared data, or `None` when it is absent outside CI.
fn statements() -> Option<PathBuf> {
    shared_data("bank_statements").map(|d| d.join("bank_statements"))
}

fn read(dir: &Path, name: &str) -> Result<Vec<BankLine>, IngestError> {
    let path = dir.join(name);
    let bytes = std::fs::read(&path).unwrap();
    if name.starts_with("cfonb120/") {
        cfonb::read(&bytes, &path)
    } else {
        mt940::read(&bytes, &path)
    }
}

fn lines(dir: &Path, name: &str) -> Vec<BankLine> {
    read(dir, name).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn day(y: i32, m: u32, d: u32) -> Day {
    Day::from_ymd_supported(y, m, d).unwrap()
}

/// The line read from the given line of the file.
fn at(lines: &[BankLine], line: u64) -> &BankLine {
    lines
        .iter()
        .find(|l| l.line == line)
        .unwrap_or_else(|| panic!("no entry read at line {line}"))
}

#[test]
fn every_sample_is_read_or_refused_as_the_manifest_says() {
    let Some(dir) = statements() else { return };
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let mut rows = manifest.lines();
    let header: Vec<&str> = rows.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (file, format, credits, notes) = (
        col("local_file"),
        col("format"),
        col("credit_entries"),
        col("notes"),
    );
    let mut checked = 0;
    for row in rows {
        let f: Vec<&str> = row.split('\t').collect();
        if !matches!(f[format], "cfonb120" | "mt940") {
            continue;
        }
        checked += 1;
        let name = f[file];
        let refused = f[notes].contains("MALFORMED") || f[notes].starts_with("fragment");
        match read(&dir, name) {
            Ok(read) if !refused => {
                let text = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
                let found = read
                    .iter()
                    .filter(|l| l.amount > 0 || l.amount == 0 && zero_credit(&text, l.line))
                    .count();
                let expected: usize = f[credits].parse().unwrap();
                assert_eq!(found, expected, "{name}: credits");
            }
            Ok(_) => panic!("{name}: read, expected refused ({})", f[notes]),
            Err(e) if refused => {
                let IngestError::Row { line, .. } = &e else {
                    panic!("{name}: refused without a line: {e}")
                };
                assert!(*line >= 1, "{name}: {e}");
                assert!(e.to_string().contains(&format!("line {line}")), "{e}");
            }
            Err(e) => panic!("{name}: refused: {e}"),
        }
    }
    assert_eq!(checked, 34, "CFONB and MT940 samples in the manifest");
}

/// The manifest counts credits by their mark: for an amount of zero, read the mark from the
/// file, naively (`:61:YYMMDD[MMDD]C…`, or the sign character of a CFONB amount).
fn zero_credit(text: &str, line: u64) -> bool {
    let l = text.lines().nth(line as usize - 1).unwrap();
    if let Some(rest) = l.strip_prefix(":61:") {
        let rest = rest[6..].trim_start_matches(|c: char| c.is_ascii_digit());
        rest.starts_with('C') || rest.starts_with("RD")
    } else {
        l.as_bytes()[103] == b'{'
    }
}

/// The message of a refusal and its line.
fn refusal(dir: &Path, name: &str) -> (u64, String) {
    match read(dir, name) {
        Err(IngestError::Row { line, message, .. }) => (line, message),
        other => panic!("{name}: expected a refusal at a line, got {other:?}"),
    }
}

#[test]
fn cfonb_refusals_say_where_and_what_was_expected() {
    let Some(dir) = statements() else { return };
    let (line, m) = refusal(&dir, "cfonb120/oca_pr138__test_cfonb_bad_decimal.txt");
    assert_eq!(line, 1);
    assert!(m.contains("\"3\"") && m.contains("expected 2"), "{m}");
    let (line, m) = refusal(&dir, "cfonb120/oca_pr138__test_cfonb_iban_diff_04.txt");
    assert_eq!(line, 11);
    assert!(m.contains("00003") && m.contains("00794"), "{m}");
    let (line, m) = refusal(&dir, "cfonb120/pennylane__operation.txt");
    assert_eq!(line, 1);
    assert!(
        m.contains("expected an 01 record opening the statement before"),
        "{m}"
    );
    let (line, m) = refusal(&dir, "cfonb120/pennylane__operation_unstarted.txt");
    assert_eq!(line, 1);
    assert!(m.contains("before this 05"), "{m}");
    let (line, m) = refusal(
        &dir,
        "cfonb120/pennylane__end_of_statement_without_beginning.txt",
    );
    assert_eq!(line, 9);
    assert!(m.contains("before this 07"), "{m}");
    let (line, m) = refusal(&dir, "cfonb120/pennylane__invalid_date.txt");
    assert_eq!(line, 1);
    assert!(m.contains("120 characters, found 116"), "{m}");
}

#[test]
fn cfonb_classic_credits_quote_their_invoices() {
    let Some(dir) = statements() else { return };
    let read = lines(&dir, "cfonb120/oca__cfonb_classic.cfo");
    assert_eq!(read.len(), 13);
    let jan13 = day(2024, 1, 13);
    for l in &read {
        assert_eq!(l.date, jan13);
        assert_eq!(l.value_date, Some(jan13));
        assert_eq!(l.currency, Currency::EUR);
        assert_eq!(l.account.as_deref(), Some("300030123401234567890"));
        assert_eq!(l.bank_ref, None, "entry numbers are all zeros");
    }

    let boutique = at(&read, 2);
    assert_eq!(boutique.amount, 104017);
    assert_eq!(boutique.payer_name.as_deref(), Some("MA JOLIE BOUTIQUE"));
    assert_eq!(
        boutique.remittance,
        "VIR INST MA JOLIE BOUTIQUE facture F230875"
    );

    let durancia = at(&read, 6);
    assert_eq!(durancia.amount, 132100);
    assert_eq!(durancia.payer_name.as_deref(), Some("DURANCIA MONTGENEVRE"));
    // LIB and LCC say the same: kept once; the RCN reference follows.
    assert_eq!(
        durancia.remittance,
        "VIR DURANCIA MONTGENEVRE F230866 F230765 F238765 0018937"
    );
    assert_eq!(durancia.creditor_ref, None);

    let ditri = at(&read, 12);
    assert_eq!(ditri.amount, 477291);
    assert!(ditri.remittance.contains("ACOMPTE PROJET CIMENT LOT2"));
    assert!(ditri.remittance.contains("F230987, F231234"));

    let ratp = at(&read, 23);
    assert_eq!(ratp.amount, 21880);
    assert!(
        ratp.remittance
            .contains("Akretion factures F239765/F237654/F239875/F240001")
    );

    let dga = at(&read, 27);
    assert_eq!(dga.amount, 51080);
    assert_eq!(dga.payer_name.as_deref(), Some("DGA FRANCE"));
    assert!(
        dga.remittance.contains("F238765+F229876"),
        "{}",
        dga.remittance
    );

    // A SEPA direct debit: money out; its IPY is a customer number, not an IBAN.
    let free = at(&read, 46);
    assert_eq!(free.amount, -1999);
    assert_eq!(free.payer_name.as_deref(), Some("NIMPORTEQUOI"));
    assert_eq!(free.payer_iban, None);
    assert_eq!(read.iter().filter(|l| l.amount > 0).count(), 9);
}

#[test]
fn cfonb_one_line_and_blank_line_variants_read_the_same() {
    let Some(dir) = statements() else { return };
    let without_lines = |name: &str| -> Vec<BankLine> {
        lines(&dir, name)
            .into_iter()
            .map(|l| BankLine { line: 0, ..l })
            .collect()
    };
    let plain = without_lines("cfonb120/oca_pr138__test_cfonb.txt");
    assert_eq!(plain.len(), 7);
    assert_eq!(
        without_lines("cfonb120/oca_pr138__test_cfonb_one_line.txt"),
        plain
    );
    assert_eq!(
        without_lines("cfonb120/oca_pr138__test_cfonb_empty_line.txt"),
        plain
    );
    let one_line = lines(&dir, "cfonb120/oca_pr138__test_cfonb_one_line.txt");
    assert!(one_line.iter().all(|l| l.line == 1));

    // Values of the first withdrawal; the two statements are of two banks.
    let first = &plain[0];
    assert_eq!(first.amount, -56073);
    assert_eq!(first.date, day(2016, 2, 10));
    assert_eq!(first.account.as_deref(), Some("300010079412345678901"));
    assert_eq!(first.bank_ref.as_deref(), Some("0000889"));
    assert!(
        first
            .remittance
            .starts_with("RETRAIT G.A.B. 064 000 *WASHINGTOK AVE")
    );
    assert_eq!(plain[4].account.as_deref(), Some("300040000312345678901"));
}

#[test]
fn cfonb_lcl_blank_currency_is_eur() {
    let Some(dir) = statements() else { return };
    let read = lines(&dir, "cfonb120/akretion__bank_statement.cfo");
    assert_eq!(read.len(), 4);
    let credit = at(&read, 4);
    assert_eq!(credit.amount, 400000);
    assert_eq!(credit.currency, Currency::EUR);
    assert_eq!(credit.date, day(2011, 8, 21));
    assert_eq!(credit.value_date, Some(day(2011, 10, 2)));
    assert_eq!(credit.remittance, "LCL20000000144");
}

#[test]
fn mt940_ing_structured_details() {
    let Some(dir) = statements() else { return };
    let read = lines(&dir, "mt940/oca__test-ing.940");
    assert_eq!(read.len(), 8);
    let first = at(&read, 9);
    assert_eq!(first.amount, 156);
    assert_eq!(first.currency, Currency::EUR);
    assert_eq!(first.date, day(2014, 2, 20));
    assert_eq!(first.account.as_deref(), Some("NL77INGB0574908765EUR"));
    assert_eq!(first.payer_iban.as_deref(), Some("NL32INGB0000012345"));
    assert_eq!(first.payer_name.as_deref(), Some("ING BANK NV INZAKE WEB"));
    assert_eq!(first.remittance, "EV10001REP1000000T1000");
    assert_eq!(first.end_to_end.as_deref(), Some("EV12341REP1231456T1234"));
    assert!(!first.reversal);

    // A credit returning a collection (/RTRN/), quoting an invoice number.
    let returned = read.iter().find(|l| l.amount == 157).unwrap();
    assert!(returned.reversal);
    assert_eq!(returned.payer_name.as_deref(), Some("J.Janssen"));
    assert_eq!(returned.remittance, "Factuurnr 123456 Klantnr 00123");

    // The mandate reference wrapped around a line holding only "-".
    let debit = read.iter().find(|l| l.amount == -114).unwrap();
    assert_eq!(debit.end_to_end.as_deref(), Some("EV123REP123412T1234"));
    assert_eq!(debit.remittance, "EV123REP123412T1234");

    // A structured payment reference (Dutch "betalingskenmerk").
    let structured = read.iter().find(|l| l.amount == 3200).unwrap();
    assert_eq!(structured.creditor_ref.as_deref(), Some("9001123412341234"));
}

#[test]
fn mt940_german_subfields() {
    let Some(dir) = statements() else { return };
    let read = lines(&dir, "mt940/wolph_betterplace__sepa_mt9401.sta");
    let credit = read
        .iter()
        .find(|l| l.bank_ref.as_deref() == Some("0724710290635078"))
        .unwrap();
    assert_eq!(credit.amount, 12588);
    assert_eq!(credit.date, day(2007, 9, 4));
    assert_eq!(credit.remittance, "TO13 TF20018 MINT");
    assert_eq!(credit.payer_iban.as_deref(), Some("CH8500779014054431109"));
    assert_eq!(
        credit.payer_name.as_deref(),
        Some("Cornelia Prochownik 70 Zeichen Beginn Fuellzeichen xxx")
    );

    let with_eref = read
        .iter()
        .find(|l| l.bank_ref.as_deref() == Some("0724710290621954"))
        .unwrap();
    assert_eq!(with_eref.amount, 1500005);
    assert_eq!(
        with_eref.end_to_end.as_deref(),
        Some("EndToEndIdTFNR2000400001")
    );
    assert!(
        with_eref
            .remittance
            .starts_with("TO 13 TFNr 20004 Eingangskanal Mint"),
        "{}",
        with_eref.remittance
    );
    assert_eq!(
        with_eref.payer_iban.as_deref(),
        Some("DE42100100100043921105")
    );

    // "RCR": a reversed credit (RC) with the funds code R: money out.
    let reversed: Vec<&BankLine> = read.iter().filter(|l| l.reversal).collect();
    assert_eq!(reversed.len(), 2);
    assert!(reversed.iter().all(|l| l.amount == -20488));
}

#[test]
fn mt940_funds_codes_and_dates() {
    let Some(dir) = statements() else { return };
    let read = lines(&dir, "mt940/wolph_self-provided__raphaelm.sta");
    assert_eq!(read.len(), 9);
    let dem = Currency::parse("DEM").unwrap();
    assert!(read.iter().all(|l| l.currency == dem));
    // "CM": a credit with the funds code M; the entry date 0320 of the value date 020317.
    let first = &read[0];
    assert_eq!(first.amount, 500000);
    assert_eq!(first.date, day(2002, 3, 20));
    assert_eq!(first.value_date, Some(day(2002, 3, 17)));
    assert_eq!(first.bank_ref.as_deref(), Some("68790452"));
    assert!(!first.reversal);
    // "DM": a debit with the funds code M, not a reversal.
    let last = read.last().unwrap();
    assert_eq!(last.amount, -5000000);
    assert!(!last.reversal);
    assert_eq!(last.account.as_deref(), Some("3346780111"));

    // "DR" is a debit with the funds code R; the value date February 30 (a 30-day-month
    // calendar) is the last day of February; the :86: line starting ":26:" is text.
    let read = lines(&dir, "mt940/wolph_self-provided__wrapped_timestamp.sta");
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].amount, -600);
    assert!(!read[0].reversal);
    assert_eq!(read[0].value_date, Some(day(2016, 2, 29)));
    assert_eq!(read[0].date, day(2016, 3, 1));
    assert_eq!(read[0].end_to_end.as_deref(), Some("VZ0000000000000000"));
    assert!(
        read[0].remittance.contains("/PL 12-09-2014T16:26:37"),
        "{}",
        read[0].remittance
    );
}

#[test]
fn mt940_malformed_details_are_refused_at_their_line() {
    let Some(dir) = statements() else { return };
    let (line, m) = refusal(&dir, "mt940/wolph_self-provided__malformed_details.sta");
    assert_eq!(line, 14);
    assert!(m.contains("expected two digits after '?'"), "{m}");
    // The same details without the stray '?' are read.
    let read = lines(&dir, "mt940/wolph_self-provided__overly_long_details.sta");
    assert_eq!(read.len(), 1);
    assert_eq!(
        read[0].payer_name.as_deref(),
        Some("Finanzamt Muenchen Abteilung Erhebung")
    );
    assert_eq!(
        read[0].payer_iban.as_deref(),
        Some("DE99700500000000012345")
    );
    assert_eq!(
        read[0].end_to_end.as_deref(),
        Some("123/123/12345-----L1101234567890123")
    );
    assert!(
        read[0]
            .remittance
            .starts_with("STEUERNR 123/123/12345 KOERPST 3VJ.17")
    );
}

#[test]
fn mt940_free_text_and_control_characters() {
    let Some(dir) = statements() else { return };
    let read = lines(&dir, "mt940/wolph_mBank__mt940.sta");
    assert_eq!(read.len(), 3);
    assert_eq!(read[0].currency, Currency::parse("PLN").unwrap());
    assert_eq!(read[0].amount, 1);
    assert_eq!(read[0].bank_ref.as_deref(), Some("MB170119012058"));
    assert!(read[0].remittance.contains("OD: JAN NOWAK UL. NIJAKA 1"));
    let read = lines(&dir, "mt940/oca11__test-sns.940");
    let with_iban = read
        .iter()
        .find(|l| l.payer_iban.as_deref() == Some("NL49RABO0166416932"))
        .unwrap();
    assert_eq!(with_iban.amount, -71313);
    assert!(with_iban.remittance.contains("Factuur 17227/248/20"));
}

/// A CFONB record of the account 30003 01234 01234567890 in EUR, with fields put at their
/// (1-based) columns.
fn record(code: &str, fields: &[(usize, &str)]) -> String {
    let mut r = vec![' '; 120];
    let base = [
        (1, code),
        (3, "30003"),
        (12, "01234"),
        (17, "EUR"),
        (20, "2"),
        (22, "01234567890"),
    ];
    for (at, text) in base.iter().chain(fields) {
        for (i, c) in text.chars().enumerate() {
            r[at - 1 + i] = c;
        }
    }
    r.into_iter().collect()
}

/// A statement around the given records, in ISO-8859-1 as French banks write it.
fn statement(records: &[String]) -> Vec<u8> {
    let open = record("01", &[(35, "120124"), (91, "0000000000000{")]);
    let close = record("07", &[(35, "130124"), (91, "0000000012345E")]);
    let text = std::iter::once(&open)
        .chain(records)
        .chain(std::iter::once(&close))
        .map(|r| format!("{r}\r\n"))
        .collect::<String>();
    text.chars().map(|c| u8::try_from(c).unwrap()).collect()
}

fn operation(fields: &[(usize, &str)]) -> String {
    let mut all = vec![
        (33, "05"),
        (35, "130124"),
        (43, "150124"),
        (49, "VIR SOCIÉTÉ GÉNÉRALE"),
        (82, "00 0042"),
        (91, "0000000012345E"),
    ];
    all.extend_from_slice(fields);
    record("04", &all)
}

#[test]
fn cfonb_synthetic_statement() {
    let file = Path::new("synthetic.cfo");
    let bytes = statement(&[
        operation(&[]),
        record("05", &[(46, "NPY"), (49, "SOCIÉTÉ GÉNÉRALE")]),
        record(
            "05",
            &[(46, "IPY"), (49, "FR76 3000 6000 0112 3456 7890 189")],
        ),
        record(
            "05",
            &[(46, "RCN"), (49, "RF18 5390 0754 7034"), (84, "FACTURE F1")],
        ),
        record("05", &[(46, "NBE"), (49, "NOUS")]),
    ]);
    let read = cfonb::read(&bytes, file).unwrap();
    assert_eq!(read.len(), 1);
    let l = &read[0];
    assert_eq!(l.line, 2);
    assert_eq!(l.amount, 123455);
    assert_eq!(l.date, day(2024, 1, 13));
    assert_eq!(l.value_date, Some(day(2024, 1, 15)));
    assert_eq!(l.payer_name.as_deref(), Some("SOCIÉTÉ GÉNÉRALE"));
    assert_eq!(l.payer_iban.as_deref(), Some("FR7630006000011234567890189"));
    assert_eq!(l.creditor_ref.as_deref(), Some("RF18 5390 0754 7034"));
    assert_eq!(l.remittance, "VIR SOCIÉTÉ GÉNÉRALE FACTURE F1");
    assert_eq!(l.bank_ref.as_deref(), Some("000042"));

    let refused = |records: &[String]| match cfonb::read(&statement(records), file) {
        Err(IngestError::Row { line, message, .. }) => (line, message),
        other => panic!("expected a refusal, got {other:?}"),
    };
    let (line, m) = refused(&[operation(&[(35, "300224")])]);
    assert_eq!(line, 2);
    assert!(m.contains("operation date"), "{m}");
    let (line, m) = refused(&[operation(&[(91, "00000000123X5E")])]);
    assert_eq!(line, 2);
    assert!(m.contains("columns 91-104"), "{m}");
    let (line, m) = refused(&[operation(&[(104, "S")])]);
    assert_eq!(line, 2);
    assert!(m.contains("columns 91-104"), "{m}");
    let (line, m) = refused(&[record("05", &[(46, "LIB")])]);
    assert_eq!(line, 2);
    assert!(m.contains("expected an 04 operation before this 05"), "{m}");
    let (line, m) = refused(&[record("03", &[])]);
    assert_eq!(line, 2);
    assert!(m.contains("unknown record code \"03\""), "{m}");
    let (line, m) = refused(&[operation(&[(17, "USD")])]);
    assert_eq!(line, 2);
    assert!(m.contains("expected EUR"), "{m}");

    // A statement never closed; an empty file.
    let mut open = statement(&[operation(&[])]);
    open.truncate(2 * 122);
    let e = cfonb::read(&open, file).unwrap_err();
    assert!(
        e.to_string().contains("line 1: the statement opened"),
        "{e}"
    );
    assert!(matches!(
        cfonb::read(b"\r\n", file),
        Err(IngestError::File { .. })
    ));
}

const MT940: &str = ":20:STMT
:25:NL91ABNA0417164300
:28C:1/1
:60F:C141231EUR0,00
:61:1412310105C10,00NTRFREF1//BANK1
:86:Invoice 2014-77 paid by NL91ABNA0417164300
:62F:C150105EUR10,00
-
";

#[test]
fn mt940_synthetic_statement() {
    let file = Path::new("synthetic.sta");
    let read = mt940::read(MT940.as_bytes(), file).unwrap();
    assert_eq!(read.len(), 1);
    // The entry date 0105 of the value date 141231 is in the next year.
    assert_eq!(read[0].date, day(2015, 1, 5));
    assert_eq!(read[0].value_date, Some(day(2014, 12, 31)));
    assert_eq!(read[0].amount, 1000);
    assert_eq!(read[0].bank_ref.as_deref(), Some("BANK1"));
    assert_eq!(read[0].payer_iban.as_deref(), Some("NL91ABNA0417164300"));
    assert_eq!(
        read[0].remittance,
        "Invoice 2014-77 paid by NL91ABNA0417164300"
    );

    let refused = |text: &str| match mt940::read(text.as_bytes(), file) {
        Err(IngestError::Row { line, message, .. }) => (line, message),
        other => panic!("expected a refusal, got {other:?}"),
    };
    let (line, m) = refused(&MT940.replace(":60F:C141231EUR0,00\n", ""));
    assert_eq!(line, 4);
    assert!(m.contains("expected an opening balance"), "{m}");
    let (line, m) = refused(&MT940.replace("C10,00", "X10,00"));
    assert_eq!(line, 5);
    assert!(m.contains("expected the mark C, D, RC or RD"), "{m}");
    let (line, m) = refused(&MT940.replace("1412310105", "1413310105"));
    assert_eq!(line, 5);
    assert!(m.contains("value date"), "{m}");
    let (line, m) = refused(&MT940.replace("10,00NTRF", "10,00XTRF"));
    assert_eq!(line, 5);
    assert!(m.contains("transaction type"), "{m}");
    // A second message without its :20:.
    let (line, m) = refused(&format!("{MT940}{}", MT940.replace(":20:STMT\n", "")));
    assert_eq!(line, 9);
    assert!(m.contains("expected a :20: field"), "{m}");
    assert!(matches!(
        mt940::read(b"date;amount\n2024-01-01;12\n", file),
        Err(IngestError::File { .. })
    ));
}
