//! HTML helpers: escaping, the page layout, the style sheet, French and English words, numbers.

pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Percent-encoding for a query value.
pub fn q(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub use arpilot_app::locale::Lang;

/// A `?` giving the definition of `key` (arpilot_app::help): its text on hover (title) and,
/// opened by a click or the keyboard, under it (`<details>`, no JavaScript needed).
pub fn help(lang: Lang, key: &str) -> String {
    match arpilot_app::help::definition(key, lang) {
        Some(d) => format!(
            r#"<details class="help"><summary title="{d}"><span aria-hidden="true">?</span><span class="sr">{what}</span></summary><p>{d}</p></details>"#,
            d = esc(d),
            what = lang.t("Definition", "Définition"),
        ),
        None => String::new(),
    }
}

/// A card of a page: its heading with the definition of `help_key`, then `body`; `key` names
/// the card (`data-card`), stable across versions.
pub fn card(lang: Lang, key: &str, title: &str, help_key: &str, body: &str) -> String {
    format!(
        r#"<section class="card" data-card="{key}"><div class="card-head"><h2>{}</h2>{}</div>{body}</section>"#,
        esc(title),
        help(lang, help_key),
    )
}

/// `body` with its date inputs in the page's language (`lang` on each), so that the browser
/// writes their dates as the page does.
pub fn date_inputs(lang: Lang, body: &str) -> String {
    body.replace(
        r#"type="date""#,
        &format!(r#"type="date" lang="{}""#, lang.code()),
    )
}

pub struct Nav<'a> {
    pub login: &'a str,
    pub role: &'a str,
    pub csrf: &'a str,
    /// The query string carrying the as-of date and filters, kept across pages.
    pub query: &'a str,
    pub active: &'static str,
}

pub fn page(lang: Lang, title: &str, nav: &Nav, body: &str) -> String {
    let link = |href: &str, key: &'static str, label: &str| {
        format!(
            r#"<a href="{href}?{}"{}>{}</a>"#,
            esc(nav.query),
            if nav.active == key {
                r#" aria-current="page""#
            } else {
                ""
            },
            esc(label)
        )
    };
    format!(
        r#"<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title} · arpilot</title><link rel="stylesheet" href="/static/app.css"></head><body><header><a class="brand" href="/">arpilot</a><nav>{d}{w}{a}{c}{t}{x}{f}{k}{r}{i}{s}</nav><form method="post" action="/logout" class="who"><span>{login} · {role}</span><input type="hidden" name="csrf" value="{csrf}"><button>{out}</button></form></header><main id="main" data-live="1">{body}</main><script src="/static/live.js" defer></script></body></html>"#,
        lang = lang.code(),
        title = esc(title),
        d = link("/", "dashboard", lang.t("Dashboard", "Tableau de bord")),
        w = link("/worklist", "worklist", lang.t("To do today", "À traiter")),
        a = link("/aging", "aging", lang.t("Aged balance", "Balance âgée")),
        c = link("/customers", "customers", lang.t("Customers", "Clients")),
        t = link("/team", "team", lang.t("Collection", "Recouvrement")),
        f = link("/forecast", "forecast", lang.t("Forecast", "Prévisions")),
        x = link(
            "/disputes",
            "disputes",
            lang.t("Disputes & promises", "Litiges et promesses")
        ),
        // Bank receipts belong to no portfolio: cash application is the managers' page.
        k = if matches!(nav.role, "admin" | "manager") {
            link("/cash", "cash", lang.t("Cash", "Lettrage"))
        } else {
            String::new()
        },
        // Reminders are run by the managers (collectors may open the page, read-only).
        r = if matches!(nav.role, "admin" | "manager") {
            link("/reminders", "reminders", lang.t("Reminders", "Relances"))
        } else {
            String::new()
        },
        i = link("/imports", "imports", lang.t("Imports", "Imports")),
        s = link("/settings", "settings", lang.t("Settings", "Réglages")),
        body = date_inputs(lang, body),
        login = esc(nav.login),
        role = esc(nav.role),
        csrf = esc(nav.csrf),
        out = lang.t("Sign out", "Déconnexion"),
    )
}

pub const CSS: &str = r#"
:root{--bg:#f6f8fb;--card:#fff;--ink:#0f172a;--mute:#475569;--line:#e2e8f0;--accent:#1d4ed8;--red:#b91c1c;--green:#15803d;--soft:#f1f5f9;--gap:16px}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
small{font-size:13px}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
header{display:flex;align-items:center;flex-wrap:wrap;gap:6px 10px;padding:8px 14px;background:#0f172a;color:#fff}
header a{color:#dbe4ef;text-decoration:none;padding:6px 6px;border-radius:6px;font-size:14px}header a[aria-current]{background:#1e293b;color:#fff;box-shadow:inset 0 -2px 0 #60a5fa}
header a:hover{color:#fff}header a:focus-visible{outline:2px solid #93c5fd;outline-offset:1px}
.brand{font-weight:700;color:#fff!important;font-size:18px}nav{display:flex;gap:0;flex:1;flex-wrap:wrap}header nav a{white-space:nowrap}
.who{display:flex;gap:10px;align-items:center;color:#dbe4ef;font-size:13px;white-space:nowrap}.who button{background:#1e293b;color:#fff;border:1px solid #475569;border-radius:6px;padding:4px 10px;cursor:pointer;font-size:13px}
main{max-width:1600px;margin:0 auto;padding:20px 24px 48px}
h1{font-size:24px;line-height:1.25;margin:4px 0 16px}h2{font-size:14px;margin:0;color:#334155;font-weight:650;text-transform:uppercase;letter-spacing:.04em}
h3{font-size:15px;margin:8px 0}
section>h2,.card>h2{margin-bottom:12px}
.bar-form{display:flex;gap:12px;align-items:end;flex-wrap:wrap;margin-bottom:16px}.bar-form label{display:flex;flex-direction:column;gap:2px;font-size:13px;color:var(--mute)}
input,select,textarea{font:inherit;font-size:14px;padding:5px 8px;border:1px solid #94a3b8;border-radius:6px;background:#fff;color:var(--ink)}
input:focus-visible,select:focus-visible,textarea:focus-visible,button:focus-visible,a:focus-visible,summary:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
button{font:inherit;font-size:14px}
button.primary{background:var(--accent);color:#fff;border:0;border-radius:6px;padding:7px 14px;cursor:pointer}
button.secondary{background:#fff;color:var(--ink);border:1px solid #94a3b8;border-radius:6px;padding:6px 12px;cursor:pointer}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,560px),1fr));gap:var(--gap)}
.grid>.card{min-width:0}
.spaced{margin-top:var(--gap)}
.card{position:relative;background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 18px;min-width:0}
.card+.card{margin-top:0}main>.card+.card,main>section+section{margin-top:var(--gap)}
.card-head{display:flex;align-items:center;gap:8px;margin-bottom:12px}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(212px,1fr));gap:12px;margin-bottom:var(--gap)}
.kpi,.tile{position:relative;background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px;min-width:0}
.tile{padding:0;display:flex}.tile>.kpi{border:0;flex:1;padding-right:40px}
.kpi>span,.kpi-name{display:block;color:var(--mute);font-size:13px}.kpi-head{display:flex;align-items:flex-start;justify-content:space-between;gap:6px}
.kpi b{display:block;font-size:20px;line-height:1.3;margin:2px 0;font-variant-numeric:tabular-nums}
.kpi.late b{color:var(--red)}a.kpi{text-decoration:none;color:var(--ink)}a.kpi:hover{background:var(--soft)}
.tile>.help>summary{position:absolute;top:12px;right:12px}
ul.deltas{list-style:none;margin:4px 0 0;padding:0;font-size:13px;line-height:1.45}ul.deltas li{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
ul.deltas .good{color:var(--green)}ul.deltas .bad{color:var(--red)}ul.deltas .flat{color:var(--mute)}ul.deltas .vs{color:var(--mute)}ul.deltas .verdict{font-weight:600}
svg.spark{display:block;margin-top:6px}
details.help{display:inline-block;flex:none}
details.help>summary{list-style:none;display:inline-flex;align-items:center;justify-content:center;width:22px;height:22px;border-radius:50%;border:1px solid #94a3b8;color:var(--mute);font-size:13px;font-weight:700;cursor:help;background:#fff;user-select:none}
details.help>summary::-webkit-details-marker{display:none}details.help>summary::marker{content:""}
details.help[open]>summary{background:var(--accent);border-color:var(--accent);color:#fff}
details.help>p{position:absolute;z-index:20;left:10px;right:10px;top:44px;margin:0;padding:10px 12px;background:#0f172a;color:#fff;font-size:13px;line-height:1.45;border-radius:8px;box-shadow:0 6px 20px rgba(15,23,42,.25);text-transform:none;letter-spacing:0;font-weight:400}
table{width:100%;border-collapse:collapse;font-size:14px}th,td{padding:7px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{color:var(--mute);font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.02em}tbody th{text-transform:none;font-size:14px;letter-spacing:0}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.figures th{color:var(--ink);font-weight:500}table.figures tr.total th,table.figures tr.total td{font-weight:700;border-bottom:0}
tbody tr:hover>td,tbody tr:hover>th{background:var(--soft)}a{color:var(--accent)}
td.name{overflow-wrap:anywhere;min-width:10em}
.scroll,.table-wrap{overflow-x:auto;max-width:100%}
.scroll>table th:first-child,.scroll>table td:first-child,.table-wrap>table th:first-child,.table-wrap>table td:first-child{position:sticky;left:0;background:var(--card);z-index:1}
tr.total td,tr.total th{font-weight:700}
figure.chart-box{margin:0}
.plot-row{display:flex;align-items:flex-start;padding-right:20px}
svg.chart{display:block;flex:1;min-width:0;width:100%;overflow:visible}svg.yaxis{flex:none;overflow:visible}
.chart .tick{font-size:12px;fill:#475569}.chart .v,.yaxis .tick{font-size:12px}.chart .v{fill:#0f172a;font-weight:600}.yaxis .tick{fill:#475569}
.chart a.bar:hover rect:not(.hit),.chart g.bar:hover rect:not(.hit){opacity:.85}
.chart .hit{outline:none}.chart .hit:focus-visible,.chart a.bar:focus-visible .hit,.chart g.bar:focus-visible .hit{fill:rgba(29,78,216,.09);stroke:var(--accent);stroke-width:2}
.chart a.bar:focus,.chart g.bar:focus{outline:none}
ul.legend{list-style:none;display:flex;flex-wrap:wrap;gap:4px 18px;margin:10px 0 0;padding:0;font-size:13px;color:#334155}ul.legend li{display:flex;align-items:center;gap:6px}
svg.swatch{flex:none}
ul.legend.parts{flex-direction:column;gap:4px;font-size:14px}ul.legend.parts b{font-variant-numeric:tabular-nums;margin-left:auto}ul.legend.parts li{gap:8px}ul.legend.parts .muted{min-width:4em;text-align:right}
.composition .whole{margin:0 0 10px;font-size:14px;color:var(--mute)}.composition .whole b{font-size:20px;color:var(--ink);margin-left:6px;font-variant-numeric:tabular-nums}
svg.stack{height:36px;border-radius:6px;overflow:hidden;margin-bottom:12px}
table.of-which{margin-top:14px}table.of-which caption{text-align:left;font-size:13px;color:var(--mute);padding-bottom:4px}table.of-which th{width:9em}table.of-which td.meter{width:40%;vertical-align:middle}
details.chart-data{margin-top:10px;font-size:14px}details.chart-data>summary{cursor:pointer;color:var(--accent);font-size:13px;width:max-content}details.chart-data table{margin-top:6px}
#tip{position:fixed;z-index:50;max-width:320px;padding:6px 10px;background:#0f172a;color:#fff;font-size:13px;border-radius:6px;pointer-events:none}
.login{max-width:360px;margin:80px auto;background:#fff;border:1px solid var(--line);border-radius:12px;padding:28px}
.login label{display:block;margin:10px 0 4px;font-size:14px;color:var(--mute)}.login input{width:100%}.login button{margin-top:16px;width:100%}
.err{color:var(--red)}.muted{color:var(--mute);font-size:13px}
.work-form{display:flex;flex-direction:column;gap:10px;margin-bottom:18px}.work-form .row{display:flex;gap:12px;flex-wrap:wrap}
.work-form label{display:flex;flex-direction:column;font-size:13px;color:var(--mute);gap:2px}.work-form label.wide textarea{width:100%}
.work-form fieldset{border:1px solid var(--line);border-radius:8px;display:flex;flex-wrap:wrap;gap:4px 16px;max-height:160px;overflow:auto}
.work-form legend{font-size:13px;color:var(--mute)}
.work-form label.check{flex-direction:row;align-items:center;gap:6px;color:var(--ink);font-size:14px}.work-form button{align-self:flex-start}
.work{margin-bottom:18px}
.pills,.pager{display:flex;flex-wrap:wrap;gap:6px;margin:8px 0 14px}.pills a,.pager a{padding:3px 10px;border:1px solid #cbd5e1;border-radius:14px;text-decoration:none;color:var(--ink);background:var(--card);font-size:14px}
.pills a[aria-current],.pager a[aria-current]{background:var(--accent);color:#fff;border-color:var(--accent)}
.receipt{border:1px solid var(--line);border-radius:8px;padding:10px 12px;margin:0 0 12px}.receipt-head{display:flex;gap:16px;flex-wrap:wrap;align-items:baseline;font-size:15px}.receipt-head b{font-size:17px}
.remit{margin:4px 0;font-family:ui-monospace,monospace;font-size:13px;overflow-wrap:anywhere}
table.candidates input[size]{width:auto}
ul.reasons{margin:0;padding-left:18px}ul.reasons li{margin:0}#worklist td{vertical-align:top}
.ok{color:var(--green)}form.inline{display:inline-flex;gap:4px;align-items:center}pre.letter{white-space:pre-wrap;font:14px/1.5 system-ui,sans-serif;margin:0}
ul.steps{margin:0 0 12px;padding-left:18px;font-size:14px}.work-form textarea{font:13px/1.4 ui-monospace,monospace}
td.actions{white-space:nowrap}main.portal{max-width:900px}main.portal .work-form textarea{font:inherit}tfoot th{color:var(--ink);font-size:14px}
@media (max-width:700px){main{padding:16px 12px 40px}header{padding:8px 12px}}
@media print{
 body{background:#fff;color:#000;font-size:11pt}
 header,.bar-form,details.help,details.chart-data,nav.pills,nav.pager,form,.downloads,#tip{display:none!important}
 main{max-width:none;padding:0}
 .card,.kpi,.tile{border:1px solid #888;box-shadow:none;break-inside:avoid;background:#fff}
 .grid{grid-template-columns:1fr 1fr}
 a{color:#000;text-decoration:none}
 th,td{border-bottom:1px solid #bbb}.muted,th,.kpi-name,ul.deltas .vs{color:#333}
 .scroll,.table-wrap{overflow:visible}
 .chart .tick,.yaxis .tick{fill:#000}
}
"#;

/// Progressive enhancement: when the ledger changes, refresh the page's content in place.
pub const LIVE_JS: &str = r#"
(function(){
  // Upload progress on the imports page.
  var up=document.getElementById('upload');
  if(up&&window.XMLHttpRequest&&window.FormData){
    up.addEventListener('submit',function(ev){
      ev.preventDefault();
      var bar=document.getElementById('progress');bar.hidden=false;
      var x=new XMLHttpRequest();x.open('POST',up.action);
      x.upload.onprogress=function(e){if(e.lengthComputable){bar.value=Math.round(e.loaded*100/e.total);}};
      x.onload=function(){document.open();document.write(x.responseText);document.close();};
      x.send(new FormData(up));
    });
  }
  // Keyboard users see a chart's values on focus (the mouse gets the titles' tooltips).
  var tip=null;
  document.addEventListener('focusin',function(e){
    var t=e.target;if(!t.closest||!t.closest('svg.chart'))return;
    var ti=t.querySelector('title');if(!ti)return;
    if(!tip){tip=document.createElement('div');tip.id='tip';tip.setAttribute('role','status');document.body.appendChild(tip);}
    tip.textContent=ti.textContent;tip.hidden=false;
    var r=t.getBoundingClientRect();
    tip.style.left=Math.max(8,Math.min(window.innerWidth-330,r.left))+'px';
    tip.style.top=Math.max(8,r.top-40)+'px';
  });
  document.addEventListener('focusout',function(){if(tip)tip.hidden=true;});
  if(!window.EventSource)return;
  var es=new EventSource('/events');
  es.addEventListener('ledger',function(){
    fetch(location.href,{headers:{'X-Requested-With':'live'}}).then(function(r){return r.text()}).then(function(t){
      var d=new DOMParser().parseFromString(t,'text/html');var m=d.getElementById('main');
      if(m){document.getElementById('main').replaceWith(m);}
    });
  });
})();
"#;
