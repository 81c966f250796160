//! SVG charts drawn on the server: labelled axes, values on bars, legends, links on bars.

use crate::html::esc;
use std::fmt::Write;

/// Restrained palette: one accent, greys, and a red for what is late.
pub const BLUE: &str = "#2563eb";
pub const GREEN: &str = "#16a34a";
pub const AMBER: &str = "#d97706";
pub const RED: &str = "#dc2626";
pub const GREY: &str = "#64748b";
pub const PURPLE: &str = "#7c3aed";

/// One bar: label under it, value, colour, and where a click leads.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub text: String,
    pub color: &'static str,
    pub href: Option<String>,
}

/// Vertical bars with their values above them.
pub fn bars(title: &str, bars: &[Bar]) -> String {
    let (w, h, top, bottom, left) = (560.0, 240.0, 28.0, 36.0, 12.0);
    let max = bars.iter().map(|b| b.value).fold(0.0f64, f64::max).max(1.0);
    let n = bars.len().max(1) as f64;
    let slot = (w - 2.0 * left) / n;
    let mut s = format!(
        r#"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{t}"><title>{t}</title>"#,
        t = esc(title)
    );
    let base = h - bottom;
    let _ = write!(
        s,
        r##"<line x1="{left}" y1="{base}" x2="{}" y2="{base}" stroke="#cbd5e1"/>"##,
        w - left
    );
    for (i, b) in bars.iter().enumerate() {
        let bh = (b.value.max(0.0) / max) * (base - top);
        let x = left + i as f64 * slot + slot * 0.15;
        let bw = slot * 0.7;
        let y = base - bh;
        let rect = format!(
            r#"<rect x="{x:.1}" y="{y:.1}" width="{bw:.1}" height="{bh:.1}" rx="3" fill="{}"><title>{}: {}</title></rect>"#,
            b.color,
            esc(&b.label),
            esc(&b.text)
        );
        match &b.href {
            Some(href) => {
                let _ = write!(
                    s,
                    r#"<a href="{}" class="bar" data-bucket="{i}">{rect}</a>"#,
                    esc(href)
                );
            }
            None => s.push_str(&rect),
        }
        let cx = x + bw / 2.0;
        let _ = write!(
            s,
            r#"<text x="{cx:.1}" y="{:.1}" text-anchor="middle" class="v">{}</text><text x="{cx:.1}" y="{:.1}" text-anchor="middle" class="l">{}</text>"#,
            y - 6.0,
            esc(&b.text),
            base + 18.0,
            esc(&b.label)
        );
    }
    s.push_str("</svg>");
    s
}

/// A series of a line chart.
pub struct Series {
    pub name: String,
    pub color: &'static str,
    pub points: Vec<Option<f64>>,
}

/// Lines over shared x labels, with a y scale and a legend.
pub fn lines(title: &str, labels: &[String], series: &[Series], unit: &str) -> String {
    let (w, h, top, bottom, left, right) = (560.0, 240.0, 16.0, 52.0, 44.0, 12.0);
    let max = series
        .iter()
        .flat_map(|s| s.points.iter().flatten())
        .fold(0.0f64, |a, &b| a.max(b))
        .max(1.0);
    let max = nice(max);
    let n = labels.len().max(2) as f64;
    let x = |i: usize| left + i as f64 * (w - left - right) / (n - 1.0);
    let y = |v: f64| top + (1.0 - v.max(0.0) / max) * (h - top - bottom);
    let mut s = format!(
        r#"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{t}"><title>{t}</title>"#,
        t = esc(title)
    );
    for k in 0..=4 {
        let v = max * k as f64 / 4.0;
        let _ = write!(
            s,
            r##"<line x1="{left}" y1="{yy:.1}" x2="{}" y2="{yy:.1}" stroke="#e2e8f0"/><text x="{}" y="{:.1}" text-anchor="end" class="l">{v:.0}{unit}</text>"##,
            w - right,
            left - 6.0,
            y(v) + 4.0,
            yy = y(v)
        );
    }
    let step = (labels.len() / 6).max(1);
    for (i, l) in labels.iter().enumerate() {
        if i % step == 0 || i + 1 == labels.len() {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="l">{}</text>"#,
                x(i),
                h - bottom + 16.0,
                esc(l)
            );
        }
    }
    for se in series {
        let mut d = String::new();
        for (i, p) in se.points.iter().enumerate() {
            if let Some(v) = p {
                let _ = write!(
                    d,
                    "{}{:.1},{:.1} ",
                    if d.is_empty() { "M" } else { "L" },
                    x(i),
                    y(*v)
                );
            }
        }
        let _ = write!(
            s,
            r#"<path d="{d}" fill="none" stroke="{}" stroke-width="2.2"><title>{}</title></path>"#,
            se.color,
            esc(&se.name)
        );
    }
    // Legend under the axis.
    let mut lx = left;
    for se in series {
        let _ = write!(
            s,
            r#"<rect x="{lx:.1}" y="{:.1}" width="12" height="4" fill="{}"/><text x="{:.1}" y="{:.1}" class="l">{}</text>"#,
            h - 14.0,
            se.color,
            lx + 16.0,
            h - 10.0,
            esc(&se.name)
        );
        lx += 24.0 + 7.0 * se.name.chars().count() as f64;
    }
    s.push_str("</svg>");
    s
}

/// A horizontal stacked bar with its legend: the balance composition.
pub fn stack(title: &str, parts: &[(String, f64, String, &'static str)]) -> String {
    let total: f64 = parts.iter().map(|p| p.1.max(0.0)).sum::<f64>().max(1.0);
    let w = 560.0;
    let mut s = format!(
        r#"<svg class="chart" viewBox="0 0 {w} 96" role="img" aria-label="{t}"><title>{t}</title>"#,
        t = esc(title)
    );
    let mut x = 0.0;
    for (label, v, text, color) in parts {
        let pw = v.max(0.0) / total * w;
        if pw > 0.0 {
            let _ = write!(
                s,
                r#"<rect x="{x:.1}" y="4" width="{pw:.1}" height="28" fill="{color}"><title>{}: {}</title></rect>"#,
                esc(label),
                esc(text)
            );
        }
        x += pw;
    }
    let (mut lx, mut ly) = (0.0, 52.0);
    for (label, _, text, color) in parts {
        let item = format!("{label} {text}");
        let iw = 30.0 + 6.6 * item.chars().count() as f64;
        if lx + iw > w {
            lx = 0.0;
            ly += 22.0;
        }
        let _ = write!(
            s,
            r#"<rect x="{lx:.1}" y="{:.1}" width="12" height="12" rx="2" fill="{color}"/><text x="{:.1}" y="{ly:.1}" class="l">{}</text>"#,
            ly - 10.0,
            lx + 17.0,
            esc(&item)
        );
        lx += iw;
    }
    s.push_str("</svg>");
    s
}

/// 1, 2 or 5 times a power of ten, at least `v`.
fn nice(v: f64) -> f64 {
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * p)
}
