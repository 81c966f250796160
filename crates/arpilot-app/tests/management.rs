//! The KPI cards and the management report on the small hand-made ledger: each comparison is
//! the report's figure at its own date, and the cards' figures are the report's sections.

use arpilot_app::Lang;
use arpilot_app::management::{
    Unit, build, format_value, kpi_cards, one_year_before, previous_month_end,
};
use arpilot_core::customers::RatingThresholds;
use arpilot_core::report::report;
use arpilot_core::risk::risk_at;
use arpilot_core::trend::trend_dates;
use arpilot_core::{Currency, Day, ReportParams, Selection};
use std::path::PathBuf;

fn d(s: &str) -> Day {
    Day::parse_iso(s).unwrap()
}

#[test]
fn comparison_dates() {
    assert_eq!(one_year_before(d("2024-02-29")), d("2023-02-28"));
    assert_eq!(one_year_before(d("2024-03-15")), d("2023-03-15"));
    assert_eq!(previous_month_end(d("2024-03-15")), d("2024-02-29"));
    assert_eq!(previous_month_end(d("2024-03-31")), d("2024-02-29"));
}

#[test]
fn figures_are_written_as_the_locale_writes_them() {
    let eur = Currency::EUR;
    assert_eq!(
        format_value(Lang::Fr, Unit::Money, Some(1234567.8), eur),
        "1\u{202f}234\u{202f}567,80"
    );
    assert_eq!(
        format_value(Lang::En, Unit::Money, Some(-1234.5), eur),
        "-1,234.50"
    );
    assert_eq!(format_value(Lang::Fr, Unit::Days, Some(45.67), eur), "45,7");
    assert_eq!(
        format_value(Lang::En, Unit::Percent, Some(80.0), eur),
        "80.0 %"
    );
    assert_eq!(format_value(Lang::En, Unit::Count, Some(7.0), eur), "7");
    assert_eq!(format_value(Lang::En, Unit::Days, None, eur), "—");
}

#[test]
fn each_card_compares_the_figures_of_its_dates() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../arpilot-cli/tests/fixtures/small");
    let snap = arpilot_ingest::ledger_csv::load_dir(&dir).unwrap();
    let sel = Selection::all();
    let th = RatingThresholds::default();
    let as_of = d("2024-03-20");
    let cards = kpi_cards(&snap, &sel, &ReportParams::new(as_of), &th).unwrap();
    let keys: Vec<&str> = cards.iter().map(|c| c.key).collect();
    assert_eq!(
        keys,
        [
            "balance",
            "overdue",
            "dso_countback",
            "dbt",
            "cei_month",
            "collection_rate",
            "overdue_accounts",
            "customers_at_risk",
            "at_risk_amount",
            "paid_on_time_share",
            "average_age"
        ]
    );
    let card = |k: &str| cards.iter().find(|c| c.key == k).unwrap();
    let spark_dates = trend_dates(as_of, 12);
    for (date, pick) in [(as_of, 0usize), (d("2024-02-29"), 1), (d("2023-03-20"), 2)] {
        let r = report(&snap, &sel, &ReportParams::new(date)).unwrap();
        let risk = &risk_at(&snap, &sel, &[date], &th)[0];
        let at = |k: &str| {
            let c = card(k);
            [c.value, c.previous_month_end, c.last_year][pick]
        };
        assert_eq!(at("balance"), Some(r.totals.balance.units()), "{date}");
        assert_eq!(at("overdue"), Some(r.totals.overdue.units()), "{date}");
        assert_eq!(at("dso_countback"), Some(r.dso.countback), "{date}");
        assert_eq!(at("dbt"), r.dbt, "{date}");
        assert_eq!(at("cei_month"), r.cei.month, "{date}");
        assert_eq!(at("collection_rate"), r.collection_rate.rate, "{date}");
        assert_eq!(at("overdue_accounts"), Some(risk.overdue_accounts as f64));
        assert_eq!(at("customers_at_risk"), Some(risk.at_risk as f64));
        assert_eq!(at("paid_on_time_share"), risk.paid_on_time.count_share);
        assert_eq!(at("average_age"), risk.average_age);
    }
    // The spark: the 12 month ends ending at the date, the last one the value.
    let b = card("balance");
    assert_eq!(b.spark.len(), 12);
    assert_eq!(b.spark[11], b.value);
    assert_eq!(b.spark[10], b.previous_month_end);
    let r = report(&snap, &sel, &ReportParams::new(spark_dates[5])).unwrap();
    assert_eq!(b.spark[5], Some(r.totals.balance.units()));

    // The report's cover holds the same cards, and its sections the report's figures.
    let m = build(&snap, &sel, &ReportParams::new(as_of), &th).unwrap();
    assert_eq!(m.kpis, cards);
    let r = report(&snap, &sel, &ReportParams::new(as_of)).unwrap();
    assert_eq!(m.totals, r.totals);
    assert_eq!(m.aging, r.aging);
    assert_eq!(m.trend.len(), 12);
    assert_eq!(m.trend[11].date, as_of);
    assert_eq!(m.risk_trend.len(), 12);
    assert_eq!(m.risk, m.risk_trend[11]);
    assert!(r.totals.overdue.minor > 0);
    let overdue: i64 = m.top_late.iter().map(|c| c.overdue.minor).sum();
    assert_eq!(
        overdue, r.totals.overdue.minor,
        "every overdue customer listed"
    );
    let pdf = arpilot_app::management::pdf(&m, Lang::Fr, &Default::default());
    assert!(pdf.starts_with(b"%PDF-1.4") && pdf.ends_with(b"%%EOF\n"));
}
