//! The camt.053, camt.054 and OFX samples of the shared data: every valid statement reads with
//! the number of credits its manifest counts, every deliberately broken one is refused at its
//! line, and values read from specific samples are those written in them.

mod common;
use arpilot_core::{Currency, Day};
use arpilot_ingest::IngestError;
use arpilot_ingest::bank::{BankLine, camt, ofx};
use common::shared_data;
use std::path::{Path, PathBuf};

const SUB: &str = "bank_statements";

/// One row of MANIFEST.tsv.
struct Sample {
    path: PathBuf,
    format: String,
    credits: usize,
    malformed: bool,
}

fn manifest(data: &Path) -> Vec<Sample> {
    let dir = data.join(SUB);
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let mut rows = text.lines();
    let header: Vec<&str> = rows.next().unwrap().split('\t').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let (file, format, credits, notes) = (
        col("local_file"),
        col("format"),
        col("credit_entries"),
        col("notes"),
    );
    rows.filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Sample {
                path: dir.join(f[file]),
                format: f[format].to_string(),
                credits: f[credits].parse().unwrap(),
                malformed: f[notes].starts_with("MALFORMED"),
            }
        })
        .filter(|s| matches!(s.format.as_str(), "camt053" | "camt054" | "ofx"))
        .collect()
}

fn read(path: &Path) -> Result<Vec<BankLine>, IngestError> {
    let bytes = std::fs::read(path).unwrap();
    if path.extension().is_some_and(|e| e == "xml") {
        camt::read(&bytes, path)
    } else {
        ofx::read(&bytes, path)
    }
}

fn sample(data: &Path, name: &str) -> Vec<BankLine> {
    let path = data.join(SUB).join(name);
    read(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn day(s: &str) -> Day {
    Day::parse_iso(s).unwrap()
}

#[test]
fn every_sample_reads_with_its_credits_or_is_refused() {
    let Some(data) = shared_data(SUB) else {
        return;
    };
    let samples = manifest(&data);
    assert_eq!(
        samples.len(),
        31,
        "13 camt.053, 7 camt.054 and 11 OFX samples"
    );
    for s in &samples {
        let name = s.path.display();
        let text = String::from_utf8_lossy(&std::fs::read(&s.path).unwrap()).into_owned();
        let file_lines: Vec<&str> = text.split('\n').collect();
        match (read(&s.path), s.malformed) {
            (Ok(lines), false) => {
                let credits = lines.iter().filter(|l| l.amount > 0).count();
                assert_eq!(credits, s.credits, "{name}: credits");
                // Each line points at the tag its entry starts with.
                let tag = if s.format == "ofx" {
                    "<STMTTRN>"
                } else {
                    "<Ntry>"
                };
                for l in &lines {
                    let at = file_lines[(l.line - 1) as usize];
                    assert!(at.contains(tag), "{name}: line {} is {at:?}", l.line);
                    assert!(l.date.is_supported(), "{name}: {l:?}");
                    assert_eq!(l.remittance.trim(), l.remittance, "{name}");
                    for v in [&l.payer_name, &l.payer_iban, &l.creditor_ref, &l.bank_ref] {
                        assert!(v.as_ref().is_none_or(|v| !v.is_empty() && v.trim() == v));
                    }
                }
            }
            (Err(e), true) => {
                let msg = e.to_string();
                assert!(msg.contains("expected"), "{name}: {msg}");
                if s.format == "ofx" {
                    assert!(
                        matches!(e, IngestError::Row { .. }) && msg.contains(", line "),
                        "{name}: {msg}"
                    );
                }
            }
            (Ok(lines), true) => panic!("{name}: MALFORMED but read {} lines", lines.len()),
            (Err(e), false) => panic!("{name}: {e}"),
        }
    }
}

#[test]
fn camt053_minimal_credit_with_structured_reference() {
    let Some(data) = shared_data(SUB) else {
        return;
    };
    let lines = sample(&data, "camt053/genkgo__camt053.v2.minimal.xml");
    assert_eq!(
        lines,
        vec![BankLine {
            line: 90,
            account: Some("NL26VAYB8060476890".into()),
            date: day("2014-12-31"),
            value_date: Some(day("2015-01-02")),
            amount: 885,
            currency: Currency::EUR,
            reversal: false,
            payer_name: Some("NAME NAME".into()),
            payer_iban: Some("NL56AGDH9619008421".into()),
            remittance: String::new(),
            creditor_ref: Some("4654654654654654".into()),
            bank_ref: None,
            end_to_end: None,
        }]
    );
    // v8: debtor under Pty, booking date as DtTm, AcctSvcrRef and EndToEndId.
    let v8 = sample(&data, "camt053/genkgo__camt053.v8.xml");
    assert_eq!(v8.len(), 1);
    assert_eq!(v8[0].payer_name.as_deref(), Some("NAME NAME"));
    assert_eq!(v8[0].date, day("2014-12-31"));
    assert_eq!(v8[0].creditor_ref.as_deref(), Some("4654654654654654"));
    assert_eq!(v8[0].end_to_end.as_deref(), Some("MUELL/FINP/RA12345"));
    assert_eq!(v8[0].bank_ref.as_deref(), Some("AAAASESS-FP-CN_98765/01"));
}

#[test]
fn camt053_swiss_batch_takes_the_first_isr_reference() {
    let Some(data) = shared_data(SUB) else {
        return;
    };
    let lines = sample(&data, "camt053/oca__test-camt053-txdtls.xml");
    assert_eq!(lines.len(), 1);
    let l = &lines[0];
    assert_eq!(l.line, 53);
    assert_eq!(l.currency, Currency::parse("CHF").unwrap());
    assert_eq!(l.amount, 348_300);
    assert_eq!(l.account.as_deref(), Some("CH1111000000123456789"));
    assert_eq!(
        l.creditor_ref.as_deref(),
        Some("302388292000011111111111111"),
        "the first of the two ISR references (the second is 302388292000022222222222222)"
    );
    assert_eq!(l.payer_name.as_deref(), Some("Banque Cantonale Vaudoise"));
    assert_eq!(l.payer_iban.as_deref(), Some("CH2222000000123456789"));
    assert_eq!(
        l.bank_ref.as_deref(),
        Some("20170323001234567891234567891234")
    );
    assert_eq!(
        l.remittance,
        "CRÉDIT GROUPÉ BVR TRAITEMENT DU 22.03.2017 NUMÉRO CLIENT 01-70884-3 PAQUET ID: 123456CHCAFEBABE"
    );
    assert_eq!(l.date, day("2017-03-22"));
    assert_eq!(l.value_date, Some(day("2017-03-23")));
}

#[test]
fn camt053_returned_direct_debit_is_a_reversal() {
    let Some(data) = shared_data(SUB) else {
        return;
    };
    let lines = sample(&data, "camt053/oca__test-camt053.xml");
    let got: Vec<(u64, i64, bool)> = lines
        .iter()
        .map(|l| (l.line, l.amount, l.reversal))
        .collect();
    assert_eq!(
        got,
        vec![
            (50, -75_425, false),
            (113, -66_405, true),
            (228, 140_531, false)
        ]
    );
    // The batch repeats its texts in each TxDtls: each is kept once, in document order.
    assert_eq!(
        lines[1].remittance,
        "Direct Debit S14 0410 Direct debit S14 0410 AC07 Rek.nummer blokkade TESTBANK/NL/20141229/01206408"
    );
    let credit = &lines[2];
    assert_eq!(credit.remittance, "#RD PARTY MEDIA CUSNO 90782 4210773");
    assert_eq!(credit.payer_name.as_deref(), Some("3rd party Media"));
    assert_eq!(credit.payer_iban.as_deref(), Some("NL69ABNA0522123643"));
    assert_eq!(credit.end_to_end.as_deref(), Some("115"));
    assert_eq!(credit.account.as_deref(), Some("NL77ABNA0574908765"));
}

#[test]
fn camt_dates_and_accounts_of_notifications() {
    let Some(data) = shared_data(SUB) else {
        return;
    };
    // BookgDt/DtTm: the date part as written, not shifted to UTC.
    let l = sample(&data, "camt053/oca__test-camt053-bookgdt-dttm.xml");
    assert_eq!(l[0].date, day("2014-01-04"));
    assert_eq!(l[0].value_date, Some(day("2014-01-05")));
    // Account given as Othr/Id; BookgDt as DtTm.
    let l = sample(&data, "camt054/tryton__camt.054.001.02.xml");
    assert_eq!(l[0].account.as_deref(), Some("50000000054910000003"));
    assert_eq!(l[0].amount, 10_567_850);
    assert_eq!(l[0].currency, Currency::parse("SEK").unwrap());
    assert_eq!(l[0].date, day("2010-10-18"));
    assert_eq!(l[0].payer_name.as_deref(), Some("MUELLER"));
    assert_eq!(l[0].bank_ref.as_deref(), Some("AAAASESS-FP-CN-98765/01"));
    // No BookgDt nor ValDt: the notification's CreDtTm stands in.
    let l = sample(&data, "camt054/genkgo__camt054.v8-with-UETR.xml");
    assert_eq!(l[0].date, day("2007-10-18"));
    assert_eq!(l[0].value_date, None);
    assert_eq!(l[0].amount, -20_000_000);
    // A statement without entries reads as no lines.
    assert!(sample(&data, "camt053/oca__test-camt053-no-ntry.xml").is_empty());
}

#[test]
fn camt053_without_statement_is_refused() {
    let Some(data) = shared_data(SUB) else {
        return;
    };
    let path = data.join(SUB).join("camt053/genkgo__camt053.v2.wrong.xml");
    let e = read(&path).unwrap_err().to_string();
    assert!(
        e.contains("no Stmt element (expected a camt.053 statement"),
        "{e}"
    );
}

#[test]
fn ofx_102_credit_with_memo() {
    let Some(data) = shared_data(SUB) else {
        return;
    };
    let lines = sample(&data, "ofx/tryton__OFX.txt");
    assert_eq!(
        lines,
        vec![BankLine {
            line: 41,
            account: Some("01234567890".into()),
            date: day("2018-02-21"),
            value_date: None,
            amount: 10_000,
            currency: Currency::EUR,
            reversal: false,
            payer_name: Some("MICHAEL SCOTT PAPER COMPANY".into()),
            payer_iban: None,
            remittance: "COMMUNICATION".into(),
            creditor_ref: None,
            bank_ref: Some("0001".into()),
            end_to_end: None,
        }]
    );
}

#[test]
fn ofx_102_line_numbers_and_values() {
    let Some(data) = shared_data(SUB) else {
        return;
    };
    let lines = sample(&data, "ofx/ofxparse__checking.ofx");
    let got: Vec<(u64, i64)> = lines.iter().map(|l| (l.line, l.amount)).collect();
    assert_eq!(got, vec![(46, 1), (54, -3_451), (62, -2_500)]);
    assert_eq!(lines[0].date, day("2011-03-31"));
    assert_eq!(lines[0].account.as_deref(), Some("1452687~7"));
    assert_eq!(
        lines[2].remittance,
        "RETURNED CHECK FEE, CHECK # 319 FOR $45.33 ON 04/07/11"
    );
    // Whole statement on few lines: one transaction a line.
    let medium = sample(&data, "ofx/ofxparse__bank_medium.ofx");
    let got: Vec<(u64, i64)> = medium.iter().map(|l| (l.line, l.amount)).collect();
    assert_eq!(got, vec![(15, -660), (16, -31_667), (17, -2_200)]);
    assert_eq!(medium[0].currency, Currency::parse("CAD").unwrap());
    assert_eq!(medium[0].payer_name.as_deref(), Some("MCDONALD'S #112"));
    assert_eq!(medium[0].account.as_deref(), Some("12300 000012345678"));
    assert_eq!(medium[0].date, day("2009-04-01"));
    // Credit card (CCSTMTRS/CCACCTFROM) in a 2.x file with SGML-style leaves.
    let cc = sample(&data, "ofx/ofxparse__anzcc.ofx");
    assert_eq!(cc[0].account.as_deref(), Some("1234123412341234"));
    assert_eq!(cc[0].amount, -550);
    assert_eq!(cc[0].remittance, "SOME MEMO");
    assert_eq!(cc[0].payer_name, None);
    // Investment account: the bank transactions only, amounts with 4 decimals.
    let fid = sample(&data, "ofx/ofxparse__fidelity.ofx");
    let amounts: Vec<i64> = fid.iter().map(|l| l.amount).collect();
    assert_eq!(amounts, vec![24, -97, 16]);
    assert_eq!(fid[0].account.as_deref(), Some("01234567890"));
}

#[test]
fn ofx_fail_nice_samples_are_refused_at_their_line() {
    let Some(data) = shared_data(SUB) else {
        return;
    };
    let err = |name: &str| read(&data.join(SUB).join(name)).unwrap_err().to_string();
    let e = err("ofx/ofxparse__fail_nice__date_missing.ofx");
    assert!(
        e.ends_with("line 33: STMTTRN has no DTPOSTED (expected the posting date as YYYYMMDD)"),
        "{e}"
    );
    let e = err("ofx/ofxparse__fail_nice__empty_balance.ofx");
    assert!(
        e.ends_with("line 38: LEDGERBAL/BALAMT is empty (expected the balance as a decimal amount like 1234.56)"),
        "{e}"
    );
}

fn ofx_str(s: &str) -> Result<Vec<BankLine>, IngestError> {
    ofx::read(s.as_bytes(), Path::new("t.ofx"))
}

const OFX_HEAD: &str = "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nCHARSET:1252\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>EUR\n<BANKACCTFROM><ACCTID>FR76 1234</BANKACCTFROM>\n<BANKTRANLIST>\n";

fn ofx_one(trn: &str) -> Result<Vec<BankLine>, IngestError> {
    ofx_str(&format!(
        "{OFX_HEAD}<STMTTRN>\n{trn}\n</STMTTRN>\n</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
    ))
}

#[test]
fn ofx_amounts_dates_and_text() {
    let l = ofx_one("<DTPOSTED>20240131235959[-5:EST]<TRNAMT>1 234,5<FITID>x").unwrap_err();
    assert!(
        l.to_string()
            .contains("line 10: TRNAMT \"1 234,5\": expected a decimal amount"),
        "{l}"
    );
    let l = ofx_one("<DTPOSTED>20240131<TRNAMT>1234,5<FITID> a1 <NAME>AT&amp;T &lt;Corp&gt; & co<MEMO>  Inv  F-12 ").unwrap();
    assert_eq!(l[0].amount, 123_450);
    assert_eq!(l[0].payer_name.as_deref(), Some("AT&T <Corp> & co"));
    assert_eq!(l[0].remittance, "Inv F-12");
    assert_eq!(l[0].bank_ref.as_deref(), Some("a1"));
    assert_eq!(l[0].account.as_deref(), Some("FR76 1234"));
    assert_eq!(l[0].line, 9);
    let l = ofx_one("<DTPOSTED>20240131<TRNAMT>-0.5").unwrap();
    assert_eq!(
        (l[0].amount, l[0].remittance.as_str(), l[0].bank_ref.clone()),
        (-50, "", None)
    );
    for (trn, expected) in [
        (
            "<DTPOSTED>20120231<TRNAMT>1",
            "line 10: DTPOSTED \"20120231\": expected an existing date",
        ),
        (
            "<DTPOSTED>18991231<TRNAMT>1",
            "line 10: DTPOSTED \"18991231\": expected a date from 1900-01-01",
        ),
        ("<DTPOSTED>\n<TRNAMT>1", "line 10: DTPOSTED is empty"),
        ("<DTPOSTED>20240101<TRNAMT>", "line 10: TRNAMT is empty"),
        (
            "<DTPOSTED>20240101<TRNAMT>1.234",
            "TRNAMT \"1.234\": expected a decimal amount like -1234.56 (at most 2 decimals in EUR)",
        ),
        ("<DTPOSTED>20240101", "line 9: STMTTRN has no TRNAMT"),
    ] {
        let e = ofx_one(trn).unwrap_err().to_string();
        assert!(e.contains(expected), "{trn:?}: {e}");
    }
    // Windows-1252 bytes.
    let mut bytes =
        format!("{OFX_HEAD}<STMTTRN><DTPOSTED>20240101<TRNAMT>1<MEMO>Facture r").into_bytes();
    bytes.extend_from_slice(
        b"\xe9gl\xe9e</STMTTRN></BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>",
    );
    let l = ofx::read(&bytes, Path::new("t.ofx")).unwrap();
    assert_eq!(l[0].remittance, "Facture réglée");
}

#[test]
fn ofx_without_ofx_element_or_currency_is_refused() {
    let e = ofx_str("OFXHEADER:100\nDATA:OFXSGML\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("no OFX element (expected an OFX file"), "{e}");
    let e =
        ofx_str("<OFX>\n<STMTRS>\n<STMTTRN><DTPOSTED>20240101<TRNAMT>1</STMTTRN></STMTRS></OFX>")
            .unwrap_err()
            .to_string();
    assert!(
        e.contains("line 2: STMTRS has no CURDEF (expected the statement's currency"),
        "{e}"
    );
}

fn camt_str(s: &str) -> Result<Vec<BankLine>, IngestError> {
    camt::read(s.as_bytes(), Path::new("t.xml"))
}

fn camt_entry(entry: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<c:Document xmlns:c="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
<c:BkToCstmrStmt>
<c:Stmt><c:CreDtTm>2024-02-01T10:00:00</c:CreDtTm>
<c:Acct><c:Id><c:Othr><c:Id>ACC-1</c:Id></c:Othr></c:Id></c:Acct>
<c:Ntry>
{entry}
</c:Ntry>
</c:Stmt>
</c:BkToCstmrStmt>
</c:Document>
"#
    )
}

#[test]
fn camt_hand_written_entries() {
    // Prefixed namespace, decimal comma: refused at the line of Amt.
    let e = camt_str(&camt_entry(
        "<c:Amt Ccy=\"EUR\">12,5</c:Amt>\n<c:CdtDbtInd>CRDT</c:CdtDbtInd><c:BookgDt><c:Dt>2024-01-31</c:Dt></c:BookgDt>",
    ))
    .unwrap_err();
    assert!(matches!(e, IngestError::Row { line: 7, .. }), "{e}");
    assert!(
        e.to_string()
            .contains("Ntry/Amt \"12,5\": expected a decimal amount like 1234.56"),
        "{e}"
    );
    let ok = camt_str(&camt_entry(
        "<c:Amt Ccy=\"JPY\"> 1200 </c:Amt><c:CdtDbtInd>DBIT</c:CdtDbtInd><c:RvslInd>1</c:RvslInd>\
         <c:BookgDt><c:Dt>2024-01-31+01:00</c:Dt></c:BookgDt>\
         <c:NtryDtls><c:TxDtls><c:Refs><c:EndToEndId>NOTPROVIDED</c:EndToEndId></c:Refs>\
         <c:RmtInf><c:Ustrd>Invoice\n   F-1 &amp; F-2</c:Ustrd></c:RmtInf></c:TxDtls></c:NtryDtls>",
    ))
    .unwrap();
    assert_eq!(ok[0].line, 6);
    assert_eq!(ok[0].amount, -1200);
    assert!(ok[0].reversal);
    assert_eq!(ok[0].account.as_deref(), Some("ACC-1"));
    assert_eq!(ok[0].date, day("2024-01-31"));
    assert_eq!(ok[0].end_to_end, None);
    assert_eq!(ok[0].remittance, "Invoice F-1 & F-2");
    for (entry, expected) in [
        (
            "<c:CdtDbtInd>CRDT</c:CdtDbtInd>",
            "line 6: Ntry has no Amt (expected",
        ),
        (
            "<c:Amt>1</c:Amt><c:CdtDbtInd>CRDT</c:CdtDbtInd>",
            "line 7: Ntry/Amt has no Ccy attribute",
        ),
        (
            "<c:Amt Ccy=\"EURO\">1</c:Amt><c:CdtDbtInd>CRDT</c:CdtDbtInd>",
            "line 7: Ntry/Amt Ccy attribute: expected a currency code",
        ),
        (
            "<c:Amt Ccy=\"EUR\">1</c:Amt><c:CdtDbtInd>CRED</c:CdtDbtInd>",
            "Ntry/CdtDbtInd \"CRED\": expected CRDT (credit) or DBIT (debit)",
        ),
        (
            "<c:Amt Ccy=\"EUR\">1</c:Amt><c:CdtDbtInd>CRDT</c:CdtDbtInd><c:BookgDt><c:Dt>2024-02-30</c:Dt></c:BookgDt>",
            "Ntry/BookgDt/Dt: expected a date as YYYY-MM-DD, found \"2024-02-30\"",
        ),
        (
            "<c:Amt Ccy=\"EUR\">1</c:Amt><c:CdtDbtInd>CRDT</c:CdtDbtInd><c:BookgDt><c:DtTm>2200-01-01T00:00:00</c:DtTm></c:BookgDt>",
            "Ntry/BookgDt/DtTm: expected a date from 1900-01-01 to 2199-12-31",
        ),
        (
            "<c:Amt Ccy=\"EUR\">1</c:Amt>\n<c:CdtDbtInd>CRDT</c:CdtDbt>",
            "line 8: not well-formed XML",
        ),
    ] {
        let e = camt_str(&camt_entry(entry)).unwrap_err().to_string();
        assert!(e.contains(expected), "{entry:?}: {e}");
    }
}

#[test]
fn camt_other_documents_are_refused() {
    let e = camt_str("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03\"><CstmrCdtTrfInitn/></Document>")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Document holds <CstmrCdtTrfInitn> (expected BkToCstmrStmt"),
        "{e}"
    );
    let e = camt_str("<?xml version=\"1.0\"?>\n<Invoice/>")
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 2: root element <Invoice>"), "{e}");
    let e =
        camt_str("<Document><BkToCstmrDbtCdtNtfctn><GrpHdr/></BkToCstmrDbtCdtNtfctn></Document>")
            .unwrap_err()
            .to_string();
    assert!(
        e.contains("no Ntfctn element (expected a camt.054 notification"),
        "{e}"
    );
    let e = camt_str("<Document><BkToCstmrStmt><Stmt>\n<Ntry>")
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 2: the file ends inside <Ntry>"), "{e}");
}
