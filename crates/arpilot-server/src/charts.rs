//! SVG charts drawn on the server at the size they are shown: a chart fills its card's width
//! (horizontal positions in percent) at a fixed height in pixels, so that its text is drawn at
//! the page's type scale and never shrunk with the drawing. Axis labels are thinned so that they
//! never overlap at the narrowest card the chart is meant for; legends are HTML beside the
//! drawing; each bar or month is focusable and carries its values in a `<title>`, and every
//! value is also in a table under a `<details>` (readable without JavaScript or a mouse).

use crate::html::{Lang, esc};
use std::fmt::Write;

/// Restrained palette: one accent, greys, and warm colours for what is late or at risk.
pub const BLUE: &str = "#2563eb";
pub const GREEN: &str = "#15803d";
pub const AMBER: &str = "#b45309";
pub const RED: &str = "#b91c1c";
pub const GREY: &str = "#64748b";
pub const LIGHT: &str = "#94a3b8";
pub const PURPLE: &str = "#6d28d9";

/// Width of an average glyph of the charts' 12–13 px text, generously rounded up, in pixels.
const GLYPH: f64 = 7.4;

/// An x-axis label: its text, a second line written only where it changes (the year under the
/// months), and the full name used in titles and tables.
#[derive(Clone, Debug)]
pub struct Label {
    pub line: String,
    pub sub: String,
    pub full: String,
}

impl Label {
    pub fn plain(s: impl Into<String>) -> Label {
        let s = s.into();
        Label {
            line: s.clone(),
            sub: String::new(),
            full: s,
        }
    }

    /// A month: `oct.` over `2026`, `oct. 2026` in full.
    pub fn month(l: Lang, d: arpilot_core::Day) -> Label {
        let (y, m, _) = d.ymd();
        Label {
            line: l.month_abbr(m).to_string(),
            sub: y.to_string(),
            full: l.month(d),
        }
    }

    /// A `YYYY-MM` key as a month; any other text as it is.
    pub fn month_key(l: Lang, key: &str) -> Label {
        match (l.month_key(key), key.split_once('-')) {
            (Some(full), Some((y, m))) => Label {
                line: l.month_abbr(m.parse().unwrap_or(1)).to_string(),
                sub: y.to_string(),
                full,
            },
            _ => Label::plain(key),
        }
    }

    fn width(&self) -> f64 {
        let chars = self.line.chars().count().max(self.sub.chars().count());
        chars as f64 * GLYPH + 12.0
    }
}

/// The indices of the labels to write so that none overlaps another when the drawing is
/// `width` pixels wide: every `step`-th, counted back from the last (the latest month).
fn shown(labels: &[Label], width: f64) -> Vec<bool> {
    let n = labels.len().max(1);
    let widest = labels.iter().map(Label::width).fold(0.0, f64::max);
    let slot = width / n as f64;
    let step = ((widest / slot).ceil() as usize).max(1);
    (0..labels.len())
        .map(|i| (n - 1 - i).is_multiple_of(step))
        .collect()
}

/// The x-axis labels at `x(i)` percent, from `y` pixels down.
fn ticks(s: &mut String, labels: &[Label], width: f64, y: f64, x: impl Fn(usize) -> f64) {
    let mut last_sub = "";
    for (i, (lb, on)) in labels.iter().zip(shown(labels, width)).enumerate() {
        if !on {
            continue;
        }
        let _ = write!(
            s,
            r#"<text class="tick x" x="{:.2}%" y="{y:.0}" text-anchor="middle">{}"#,
            x(i),
            esc(&lb.line)
        );
        if !lb.sub.is_empty() && lb.sub != last_sub {
            let _ = write!(
                s,
                r#"<tspan x="{:.2}%" dy="16">{}</tspan>"#,
                x(i),
                esc(&lb.sub)
            );
            last_sub = &lb.sub;
        }
        s.push_str("</text>");
    }
}

/// The legend, as HTML beside the drawing.
fn legend(items: &[(&str, &str, usize)]) -> String {
    let mut s = String::from(r#"<ul class="legend">"#);
    for (name, color, dash) in items {
        let _ = write!(
            s,
            r#"<li><svg class="swatch" width="22" height="12" aria-hidden="true"><line x1="1" y1="6" x2="21" y2="6" stroke="{color}" stroke-width="{}"{}/></svg>{}</li>"#,
            if *dash == usize::MAX { 10 } else { 3 },
            dash_attr(*dash),
            esc(name)
        );
    }
    s.push_str("</ul>");
    s
}

/// The line style of the `k`-th series (solid, dashed, dotted…), so that series are told apart
/// without colour; `usize::MAX` for a block (bars).
fn dash_attr(k: usize) -> &'static str {
    match k {
        1 => r#" stroke-dasharray="7 4""#,
        2 => r#" stroke-dasharray="2 3""#,
        3 => r#" stroke-dasharray="9 3 2 3""#,
        _ => "",
    }
}

/// The values of a chart as a table under a `<details>`.
fn data_table(l: Lang, head: &[String], rows: &[Vec<String>]) -> String {
    let mut s = format!(
        r#"<details class="chart-data"><summary>{}</summary><div class="scroll"><table><thead><tr>"#,
        l.t("Values", "Valeurs")
    );
    for (k, h) in head.iter().enumerate() {
        let _ = write!(
            s,
            r#"<th{}>{}</th>"#,
            if k > 0 { r#" class="n""# } else { "" },
            esc(h)
        );
    }
    s.push_str("</tr></thead><tbody>");
    for r in rows {
        s.push_str("<tr>");
        for (k, c) in r.iter().enumerate() {
            if k == 0 {
                let _ = write!(s, "<th scope=\"row\">{}</th>", esc(c));
            } else {
                let _ = write!(s, r#"<td class="n">{}</td>"#, esc(c));
            }
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table></div></details>");
    s
}

/// One part of a bar.
pub struct Segment {
    pub name: String,
    pub value: f64,
    pub text: String,
    pub color: &'static str,
}

/// One bar, possibly stacked: its label, the text of its total, its parts and where a click
/// leads.
pub struct Bar {
    pub label: Label,
    pub text: String,
    pub segments: Vec<Segment>,
    pub href: Option<String>,
}

impl Bar {
    /// A bar of one colour.
    pub fn single(
        label: Label,
        value: f64,
        text: String,
        color: &'static str,
        href: Option<String>,
    ) -> Bar {
        Bar {
            segments: vec![Segment {
                name: label.full.clone(),
                value,
                text: text.clone(),
                color,
            }],
            label,
            text,
            href,
        }
    }
}

/// Vertical bars, stacked when they have several parts, with their totals above them when they
/// fit; `width` is the narrowest the drawing is shown, in pixels.
pub fn bars(l: Lang, title: &str, bars: &[Bar], width: f64) -> String {
    let (h, top, bottom) = (250.0, 26.0, 46.0);
    let base = h - bottom;
    let total = |b: &Bar| b.segments.iter().map(|s| s.value.max(0.0)).sum::<f64>();
    let max = bars.iter().map(total).fold(0.0f64, f64::max);
    let max = if max > 0.0 { max } else { 1.0 };
    let n = bars.len().max(1) as f64;
    let slot = 100.0 / n;
    let slot_px = width / n;
    let values_fit = bars
        .iter()
        .all(|b| b.text.chars().count() as f64 * GLYPH + 6.0 <= slot_px);
    let mut s = format!(
        r#"<figure class="chart-box"><div class="plot-row"><svg class="chart" height="{h}" role="group" aria-label="{t}"><line x1="0" y1="{base}" x2="100%" y2="{base}" stroke="{LIGHT}"/>"#,
        t = esc(title)
    );
    for (i, b) in bars.iter().enumerate() {
        let x = i as f64 * slot + slot * 0.17;
        let bw = slot * 0.66;
        let mut tip = b.label.full.clone();
        if !b.text.is_empty() {
            let _ = write!(tip, " : {}", b.text);
        }
        if b.segments.len() > 1 {
            for sg in b.segments.iter().filter(|sg| sg.value > 0.0) {
                let _ = write!(tip, " · {} {}", sg.name, sg.text);
            }
        }
        let mut inner = format!(
            r#"<title>{}</title><rect class="hit" x="{:.2}%" y="0" width="{slot:.2}%" height="{base}" fill="transparent"/>"#,
            esc(&tip),
            i as f64 * slot
        );
        let mut y = base;
        for sg in &b.segments {
            let sh = sg.value.max(0.0) / max * (base - top);
            if sh <= 0.0 {
                continue;
            }
            y -= sh;
            let _ = write!(
                inner,
                r#"<rect x="{x:.2}%" y="{y:.1}" width="{bw:.2}%" height="{sh:.1}" fill="{}"/>"#,
                sg.color
            );
        }
        match &b.href {
            Some(href) => {
                let _ = write!(
                    s,
                    r#"<a href="{}" class="bar" data-bucket="{i}">{inner}</a>"#,
                    esc(href)
                );
            }
            None => {
                let _ = write!(
                    s,
                    r#"<g class="bar" tabindex="0" role="img" aria-label="{}">{inner}</g>"#,
                    esc(&tip)
                );
            }
        }
        if values_fit && !b.text.is_empty() {
            let _ = write!(
                s,
                r#"<text class="v" x="{:.2}%" y="{:.1}" text-anchor="middle">{}</text>"#,
                x + bw / 2.0,
                y - 7.0,
                esc(&b.text)
            );
        }
    }
    let labels: Vec<Label> = bars.iter().map(|b| b.label.clone()).collect();
    ticks(&mut s, &labels, width, base + 19.0, |i| {
        i as f64 * slot + slot / 2.0
    });
    s.push_str("</svg></div>");
    // A legend when the bars have several parts.
    let mut names: Vec<(&str, &str, usize)> = Vec::new();
    for sg in bars.iter().flat_map(|b| &b.segments) {
        if !names.iter().any(|(n, _, _)| *n == sg.name) {
            names.push((&sg.name, sg.color, usize::MAX));
        }
    }
    // Parts, or named series (collected and expected): a legend and a column each.
    let stacked = bars.iter().any(|b| b.segments.len() > 1)
        || (names.len() > 1
            && bars
                .iter()
                .all(|b| b.segments.iter().all(|sg| sg.name != b.label.full)));
    if stacked {
        s.push_str(&legend(&names));
    }
    let mut head = vec![String::new()];
    if stacked {
        head.extend(names.iter().map(|(n, _, _)| n.to_string()));
    }
    head.push(l.t("Total", "Total").to_string());
    let rows: Vec<Vec<String>> = bars
        .iter()
        .map(|b| {
            let mut r = vec![b.label.full.clone()];
            if stacked {
                for (n, _, _) in &names {
                    r.push(
                        b.segments
                            .iter()
                            .find(|sg| sg.name == *n)
                            .map_or(String::new(), |sg| sg.text.clone()),
                    );
                }
            }
            r.push(b.text.clone());
            r
        })
        .collect();
    s.push_str(&data_table(l, &head, &rows));
    s.push_str("</figure>");
    s
}

/// A series of a line chart; `unit` follows its values in titles and tables.
pub struct Series {
    pub name: String,
    pub color: &'static str,
    pub points: Vec<Option<f64>>,
    pub unit: String,
}

/// Lines over shared x labels with a y scale; each month is focusable and tells its values.
/// `width` is the narrowest the drawing is shown, in pixels.
pub fn lines(l: Lang, title: &str, labels: &[Label], series: &[Series], width: f64) -> String {
    let (h, top, bottom) = (250.0, 12.0, 46.0);
    let base = h - bottom;
    let max = series
        .iter()
        .flat_map(|s| s.points.iter().flatten())
        .fold(0.0f64, |a, &b| a.max(b))
        .max(1.0);
    let max = nice(max);
    let n = labels.len().max(2) as f64;
    let x = |i: usize| 3.0 + i as f64 * 94.0 / (n - 1.0);
    let y = |v: f64| top + (1.0 - v.max(0.0) / max) * (base - top);
    let mut s = String::from(r#"<figure class="chart-box"><div class="plot-row">"#);
    // The y scale, in its own drawing at the left.
    let _ = write!(
        s,
        r#"<svg class="yaxis" width="44" height="{h}" aria-hidden="true">"#
    );
    for k in 0..=4 {
        let v = max * k as f64 / 4.0;
        let _ = write!(
            s,
            r#"<text class="tick y" x="38" y="{:.1}" text-anchor="end">{}</text>"#,
            y(v) + 4.0,
            fmt_tick(v)
        );
    }
    let _ = write!(
        s,
        r#"</svg><svg class="chart" height="{h}" role="group" aria-label="{}">"#,
        esc(title)
    );
    for k in 0..=4 {
        let _ = write!(
            s,
            r##"<line x1="0" y1="{yy:.1}" x2="100%" y2="{yy:.1}" stroke="{}"/>"##,
            if k == 0 { LIGHT } else { "#e2e8f0" },
            yy = y(max * k as f64 / 4.0)
        );
    }
    for (k, se) in series.iter().enumerate() {
        let mut prev: Option<(usize, f64)> = None;
        for (i, p) in se.points.iter().enumerate() {
            if let (Some((j, a)), Some(b)) = (prev, p) {
                let _ = write!(
                    s,
                    r#"<line x1="{:.2}%" y1="{:.1}" x2="{:.2}%" y2="{:.1}" stroke="{}" stroke-width="2.5" stroke-linecap="round"{}/>"#,
                    x(j),
                    y(a),
                    x(i),
                    y(*b),
                    se.color,
                    dash_attr(k)
                );
            }
            prev = p.map(|v| (i, v));
        }
        // The latest point, marked.
        if let Some((i, v)) = se
            .points
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, p)| p.map(|v| (i, v)))
        {
            let _ = write!(
                s,
                r#"<circle cx="{:.2}%" cy="{:.1}" r="3.5" fill="{}"/>"#,
                x(i),
                y(v),
                se.color
            );
        }
    }
    // A focusable column per month with its values.
    let col = 94.0 / (n - 1.0);
    for (i, lb) in labels.iter().enumerate() {
        let mut tip = lb.full.clone();
        for se in series {
            let _ = write!(
                tip,
                " · {} {}",
                se.name,
                l.num(se.points.get(i).copied().flatten(), &se.unit)
            );
        }
        let _ = write!(
            s,
            r#"<rect class="hit" tabindex="0" role="img" aria-label="{t}" x="{:.2}%" y="{top}" width="{col:.2}%" height="{:.1}" fill="transparent"><title>{t}</title></rect>"#,
            (x(i) - col / 2.0).max(0.0),
            base - top,
            t = esc(&tip)
        );
    }
    ticks(&mut s, labels, width - 44.0, base + 19.0, x);
    s.push_str("</svg></div>");
    let items: Vec<(&str, &str, usize)> = series
        .iter()
        .enumerate()
        .map(|(k, se)| (se.name.as_str(), se.color, k))
        .collect();
    s.push_str(&legend(&items));
    let mut head = vec![String::new()];
    head.extend(series.iter().map(|se| se.name.clone()));
    let rows: Vec<Vec<String>> = labels
        .iter()
        .enumerate()
        .map(|(i, lb)| {
            let mut r = vec![lb.full.clone()];
            r.extend(
                series
                    .iter()
                    .map(|se| l.num(se.points.get(i).copied().flatten(), &se.unit)),
            );
            r
        })
        .collect();
    s.push_str(&data_table(l, &head, &rows));
    s.push_str("</figure>");
    s
}

/// A value of the y scale: `25`, `2.5`, `1 250`.
fn fmt_tick(v: f64) -> String {
    if v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// One part of the balance composition: its name, value, text, colour and a key for tests and
/// styles.
pub struct Part {
    pub key: &'static str,
    pub name: String,
    pub value: f64,
    pub text: String,
    pub color: &'static str,
}

/// The balance composition: one stacked bar of `parts` (which add up to the whole) with an HTML
/// legend giving each part's amount and share, then the `of_which` amounts (parts of the open
/// invoices) each with its share of `whole` as a thin bar.
pub fn composition(
    l: Lang,
    title: &str,
    parts: &[Part],
    of_which: &[Part],
    whole: f64,
    whole_text: &str,
) -> String {
    let sum: f64 = parts.iter().map(|p| p.value.max(0.0)).sum();
    let share = |v: f64, of: f64| {
        if of > 0.0 {
            Some(v.max(0.0) / of * 100.0)
        } else {
            None
        }
    };
    let mut s = format!(
        r#"<figure class="chart-box composition"><p class="whole">{} <b>{}</b></p><svg class="chart stack" height="36" role="img" aria-label="{}">"#,
        esc(l.t("Balance", "Encours")),
        esc(whole_text),
        esc(title)
    );
    let mut x = 0.0;
    for p in parts {
        let w = share(p.value, sum).unwrap_or(0.0);
        if w > 0.0 {
            let _ = write!(
                s,
                r#"<rect x="{x:.2}%" y="0" width="{w:.2}%" height="36" fill="{}"><title>{}: {}</title></rect>"#,
                p.color,
                esc(&p.name),
                esc(&p.text)
            );
        }
        x += w;
    }
    s.push_str(r#"</svg><ul class="legend parts">"#);
    for p in parts {
        let _ = write!(
            s,
            r#"<li data-part="{}"><svg class="swatch" width="12" height="12" aria-hidden="true"><rect width="12" height="12" rx="2" fill="{}"/></svg><span class="name">{}</span> <b class="amount">{}</b> <span class="muted">{}</span></li>"#,
            p.key,
            p.color,
            esc(&p.name),
            esc(&p.text),
            if p.value > 0.0 {
                esc(&l.num(share(p.value, sum), " %"))
            } else {
                String::new()
            },
        );
    }
    let _ = write!(
        s,
        r#"</ul><table class="of-which"><caption>{}</caption><tbody>"#,
        esc(l.t(
            "Of which (parts of the open invoices)",
            "Dont (parts des factures ouvertes)"
        ))
    );
    for p in of_which {
        let pc = share(p.value, whole).unwrap_or(0.0).min(100.0);
        let _ = write!(
            s,
            r##"<tr data-part="{}"><th scope="row">{}</th><td class="meter"><svg width="100%" height="10" aria-hidden="true"><rect width="100%" height="10" rx="3" fill="#e8edf3"/><rect width="{pc:.2}%" height="10" rx="3" fill="{}"/></svg></td><td class="n amount">{}</td><td class="n muted">{}</td></tr>"##,
            p.key,
            esc(&p.name),
            p.color,
            esc(&p.text),
            esc(&l.num(share(p.value, whole), " %")),
        );
    }
    s.push_str("</tbody></table></figure>");
    s
}

/// A small line of 12 month ends without text, for a KPI card.
pub fn sparkline(points: &[Option<f64>], color: &str) -> String {
    let (w, h, pad) = (104.0, 30.0, 3.0);
    let vals: Vec<f64> = points.iter().flatten().copied().collect();
    if vals.len() < 2 {
        return String::new();
    }
    let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let n = points.len().max(2) as f64;
    let x = |i: usize| pad + i as f64 * (w - 2.0 * pad) / (n - 1.0);
    let y = |v: f64| pad + (1.0 - (v - lo) / span) * (h - 2.0 * pad);
    let mut d = String::new();
    let mut last = None;
    for (i, p) in points.iter().enumerate() {
        if let Some(v) = p {
            let _ = write!(
                d,
                "{}{:.1},{:.1} ",
                if last.is_none() { "M" } else { "L" },
                x(i),
                y(*v)
            );
            last = Some((x(i), y(*v)));
        }
    }
    let (lx, ly) = last.unwrap_or((0.0, 0.0));
    format!(
        r#"<svg class="spark" width="{w}" height="{h}" viewBox="0 0 {w} {h}" aria-hidden="true"><path d="{}" fill="none" stroke="{color}" stroke-width="1.8" stroke-linejoin="round"/><circle cx="{lx:.1}" cy="{ly:.1}" r="2.5" fill="{color}"/></svg>"#,
        d.trim_end()
    )
}

/// 1, 2 or 5 times a power of ten, at least `v`.
fn nice(v: f64) -> f64 {
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_labels_are_thinned_to_fit() {
        let labels: Vec<Label> = (1..=13)
            .map(|m| Label::plain(format!("sept. {m:02}")))
            .collect();
        let on = shown(&labels, 440.0);
        assert!(on[12], "the latest is written");
        let written = on.iter().filter(|x| **x).count();
        assert!(written * 88 <= 440 + 88 && written >= 3, "{written}");
        assert!(shown(&labels, 2000.0).iter().all(|x| *x));
    }

    #[test]
    fn nice_scales() {
        assert_eq!(nice(87.0), 100.0);
        assert_eq!(nice(21.0), 25.0);
        assert_eq!(nice(3.0), 5.0);
    }
}
