//! The e-invoice samples of the shared data: every valid XML invoice and credit note reads with
//! its total due and due date; every deliberately invalid one is refused with its reason.

mod common;
use arpilot_core::{Currency, Day, Snapshot};
use arpilot_ingest::einvoice;
use common::shared_data;
use std::path::{Path, PathBuf};

fn xml_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")))
        .collect();
    v.sort();
    v
}

/// Three CEN examples declare a ZUGFeRD 1 profile inside a CII D16B document; arpilot refuses
/// that mix like the reference Factur-X validator does (its `invalidV2Profile` sample).
const MIXED_PROFILE: [&str; 3] = [
    "CII-BR-CO-10-RoundingIssue.xml",
    "CII_business_example_02.xml",
    "CII_business_example_Z.xml",
];

#[test]
fn valid_samples_read_and_enter_the_ledger() {
    let Some(data) = shared_data("einvoice_en16931_examples") else {
        return;
    };
    let (mut read, mut total) = (0, 0);
    for dir in [
        "einvoice_en16931_examples/cii",
        "einvoice_en16931_examples/ubl",
        "einvoice_mustang_zugferd_facturx/cii",
        "einvoice_mustang_zugferd_facturx/ubl",
        "einvoice_akretion_facturx_fixtures",
    ] {
        for f in xml_files(&data.join(dir)) {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            total += 1;
            match einvoice::read(&f) {
                Ok(e) => {
                    read += 1;
                    // Each one enters a ledger of its own currency.
                    Snapshot::build(e.currency, e.events())
                        .unwrap_or_else(|err| panic!("{name}: {err}"));
                }
                Err(err) if MIXED_PROFILE.contains(&name.as_str()) => {
                    assert!(
                        err.to_string()
                            .contains("does not belong to a CrossIndustryInvoice"),
                        "{name}: {err}"
                    );
                }
                Err(err) => panic!("{dir}/{name}: {err}"),
            }
        }
    }
    assert_eq!((read, total), (80, 83));
}

#[test]
fn totals_and_due_dates_are_read() {
    let Some(data) = shared_data("einvoice_akretion_facturx_fixtures") else {
        return;
    };
    let day = |s| Day::parse_iso(s).unwrap();
    let dir = data.join("einvoice_akretion_facturx_fixtures");
    // The same French invoice in every Factur-X profile.
    for p in ["minimum", "basicwl", "basic", "en16931", "extended"] {
        let e = einvoice::read(&dir.join(format!("factur-x-{p}.xml"))).unwrap();
        assert_eq!(
            (e.number.as_str(), e.issue, e.amount_due, e.currency),
            ("F20260023", day("2026-01-31"), 10_490, Currency::EUR),
            "{p}"
        );
        // MINIMUM carries no due date.
        assert_eq!(e.due, (p != "minimum").then(|| day("2026-03-02")), "{p}");
    }
    // The French CTC extended UBL profile.
    let e = einvoice::read(&dir.join("ubl-21-extended-ctc-fr.xml")).unwrap();
    assert_eq!(
        (e.number.as_str(), e.issue, e.due, e.amount_due),
        (
            "F124212",
            day("2026-06-17"),
            Some(day("2026-07-16")),
            20_803
        )
    );
    assert!(e.profile.contains("extended-ctc-fr"));
    // Prepaid: the amount due, not the grand total.
    let e = einvoice::read(&data.join("einvoice_en16931_examples/cii/CII_example5.xml")).unwrap();
    assert_eq!((e.amount_due, e.grand_total), (233_750, Some(467_500)));
    // A UBL credit note owes money back.
    let e = einvoice::read(&data.join("einvoice_en16931_examples/ubl/ubl-tc434-creditnote1.xml"))
        .unwrap();
    assert!(e.credit_note && e.amount_due < 0);
    // A French type-380 "avoir" with a negative total is a credit too.
    let e =
        einvoice::read(&data.join(
            "einvoice_mustang_zugferd_facturx/cii/valid_Avoir_FR_type380_minimum_factur-x.xml",
        ))
        .unwrap();
    assert_eq!(e.amount_due, -23_347);
}

#[test]
fn invalid_samples_are_refused_with_their_reason() {
    let Some(data) = shared_data("einvoice_mustang_zugferd_facturx") else {
        return;
    };
    let dir = data.join("einvoice_mustang_zugferd_facturx/cii_invalid");
    let expect = [
        (
            "FAIL_zugferd_2p1_MINIMUM_Rechnung_380.xml",
            "MINIMUM profile",
        ),
        ("invalidV1TooMinimal.xml", "missing invoice number"),
        ("invalidV2.xml", "malformed profile"),
        (
            "invalidV2Profile.xml",
            "does not belong to a CrossIndustryInvoice",
        ),
        ("invalidV2Root.xml", "root element \"myinvoice\""),
        ("invalidXRV30.xml", "amount due 336.91 ≠ grand total 336.90"),
    ];
    assert_eq!(xml_files(&dir).len(), expect.len() + 1);
    for (file, why) in expect {
        let err = einvoice::read(&dir.join(file)).unwrap_err().to_string();
        assert!(err.contains(file) && err.contains(why), "{file}: {err}");
    }
    // Its totals add up; its first line does not (2 × 160 ≠ 160): imported with a warning.
    let e = einvoice::read(&dir.join("invalidArithmetics.xml")).unwrap();
    assert_eq!(
        e.warnings,
        ["line 1: quantity 2 × net price 160 = 320.00, not 160.00 (ram:LineTotalAmount)"]
    );
}

/// Factur-X/ZUGFeRD PDFs of the samples with their number, issue date, due date and amount due
/// (minor units) as the shared data's README lists them.
const PDFS: [(&str, &str, &str, Option<&str>, i64); 16] = [
    (
        "einvoice_akretion_facturx_fixtures/invoice_EN16931.pdf",
        "F20260023",
        "2026-01-31",
        Some("2026-03-02"),
        10_490,
    ),
    (
        "einvoice_mustang_zugferd_facturx/pdf/103767-Invoice-2026-03-24-1.pdf",
        "103767",
        "2026-02-17",
        Some("2026-03-03"),
        68_187,
    ),
    (
        "einvoice_mustang_zugferd_facturx/pdf/EN16931_1_Teilrechnung.pdf",
        "471102",
        "2018-06-05",
        None,
        14_765,
    ),
    (
        "einvoice_mustang_zugferd_facturx/pdf/EN16931_Einfach.pdf",
        "471102",
        "2024-11-15",
        None,
        52_987,
    ),
    (
        "einvoice_mustang_zugferd_facturx/pdf/EXTENDED_Fremdwaehrung_wdis_fx-pdfa4.pdf",
        "47110815",
        "2025-12-01",
        Some("2025-12-31"),
        52_191,
    ),
    (
        "einvoice_mustang_zugferd_facturx/pdf/Facture_F20180027.pdf",
        "F20180027",
        "2018-12-31",
        Some("2019-01-30"),
        10_000,
    ),
    (
        "einvoice_mustang_zugferd_facturx/pdf/MustangBeispiel20221026.pdf",
        "RE1001",
        "2022-10-26",
        None,
        96_311,
    ),
    (
        "einvoice_mustang_zugferd_facturx/pdf/MustangGnuaccountingBeispielRE-20170509_505.pdf",
        "RE-20170509/505",
        "2017-05-09",
        Some("2017-05-30"),
        57_104,
    ),
    (
        "einvoice_mustang_zugferd_facturx/pdf/ZTESTZUGFERD_1_INVDSS_012015738820PDF-1.pdf",
        "2015738820",
        "2024-11-01",
        None,
        44_788,
    ),
    (
        "einvoice_mustang_zugferd_facturx/pdf/attributeBasedXMP_zugferd_2p0_EN16931_Einfach.pdf",
        "471102",
        "2018-03-05",
        None,
        52_987,
    ),
    (
        "einvoice_mustang_zugferd_facturx/pdf/validAvoir_FR_type380_BASICWL.pdf",
        "AV-2017-0005",
        "2017-11-16",
        Some("2017-11-16"),
        -23_347,
    ),
    (
        "einvoice_mustang_zugferd_facturx/pdf/validV1WithAdditionalData.pdf",
        "R87654321012345",
        "2013-08-06",
        None,
        51_899,
    ),
    (
        "einvoice_mustang_zugferd_facturx/pdf/validV2PDF.pdf",
        "RE-20171118/506",
        "2017-11-18",
        Some("2017-12-09"),
        57_104,
    ),
    (
        "einvoice_mustang_zugferd_facturx/pdf/validXRechnung.pdf",
        "RE-20190610/507",
        "2019-06-10",
        Some("2019-07-01"),
        57_104,
    ),
    (
        "einvoice_mustang_zugferd_facturx/pdf/zugferd_2p1_EXTENDED_PDFA-3A.pdf",
        "R87654321012345",
        "2018-08-06",
        None,
        51_899,
    ),
    (
        "einvoice_mustang_zugferd_facturx/pdf/zugferd_invoice.pdf",
        "2014-03",
        "2014-07-11",
        None,
        100_555,
    ),
];

#[test]
fn factur_x_pdfs_read_with_their_totals() {
    let Some(data) = shared_data("einvoice_mustang_zugferd_facturx") else {
        return;
    };
    let listed = std::fs::read_dir(data.join("einvoice_mustang_zugferd_facturx/pdf"))
        .unwrap()
        .count();
    assert_eq!(listed + 1, PDFS.len(), "every sample PDF is listed");
    for (file, number, issue, due, amount) in PDFS {
        let inv = einvoice::read(&data.join(file)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(inv.number, number, "{file}");
        assert_eq!(inv.issue, Day::parse_iso(issue).unwrap(), "{file}");
        assert_eq!(inv.due, due.map(|d| Day::parse_iso(d).unwrap()), "{file}");
        assert_eq!(inv.amount_due, amount, "{file}");
    }
}

#[test]
fn bad_pdfs_are_refused_with_their_reason() {
    let Some(data) = shared_data("einvoice_mustang_zugferd_facturx") else {
        return;
    };
    let dir = data.join("einvoice_mustang_zugferd_facturx/pdf_invalid");
    for (file, reason) in [
        ("corrupt-factur-x-waytoosmall.pdf", "not a readable PDF"),
        ("corruptedV2PDF.pdf", "page tree is broken"),
        ("invalidXMP.pdf", "conformance level \"no thing\""),
        (
            "invalidXMP-ParseError.pdf",
            "XMP metadata is not well-formed",
        ),
        ("XMLinvalidV2PDF.pdf", "malformed profile"),
        ("invalidXRechnung.pdf", "BR-DE-2"),
    ] {
        let e = einvoice::read(&dir.join(file)).expect_err(file).to_string();
        assert!(e.contains(reason), "{file}: {e}");
        assert!(e.contains(file), "the message names the file: {e}");
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 6);
}
