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
        login = esc(nav.login),
        role = esc(nav.role),
        csrf = esc(nav.csrf),
        out = lang.t("Sign out", "Déconnexion"),
    )
}

pub const CSS: &str = r#"
:root{--bg:#f8fafc;--card:#fff;--ink:#0f172a;--mute:#475569;--line:#e2e8f0;--accent:#2563eb;--red:#b91c1c}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
header{display:flex;align-items:center;gap:24px;padding:10px 24px;background:#0f172a;color:#fff}
header a{color:#cbd5e1;text-decoration:none;padding:6px 10px;border-radius:6px}header a[aria-current]{background:#1e293b;color:#fff}
.brand{font-weight:700;color:#fff!important;font-size:17px}nav{display:flex;gap:4px;flex:1;flex-wrap:wrap}
header{flex-wrap:wrap;row-gap:6px}header nav a{white-space:nowrap}.who{white-space:nowrap}
.who{display:flex;gap:10px;align-items:center;color:#cbd5e1;font-size:13px}.who button{background:#1e293b;color:#fff;border:1px solid #334155;border-radius:6px;padding:4px 10px;cursor:pointer}
main{max-width:1240px;margin:0 auto;padding:20px 24px 48px}
h1{font-size:22px;margin:4px 0 16px}h2{font-size:15px;margin:0 0 10px;color:var(--mute);font-weight:600;text-transform:uppercase;letter-spacing:.04em}
.bar-form{display:flex;gap:10px;align-items:end;flex-wrap:wrap;margin-bottom:16px}.bar-form label{display:flex;flex-direction:column;font-size:12px;color:var(--mute)}
input,select,textarea{font:inherit;padding:5px 8px;border:1px solid #cbd5e1;border-radius:6px;background:#fff}
button.primary{background:var(--accent);color:#fff;border:0;border-radius:6px;padding:7px 14px;font:inherit;cursor:pointer}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(380px,1fr));gap:16px}
.card{overflow-x:auto}
.spaced{margin-top:16px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:12px;margin-bottom:16px}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}.kpi b{display:block;font-size:18px;white-space:nowrap}.kpi span{color:var(--mute);font-size:12px}
.kpi.late b{color:var(--red)}a.kpi{text-decoration:none;color:var(--ink)}a.kpi span{display:block}
table{width:100%;border-collapse:collapse;font-size:13px}th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left}
th{color:var(--mute);font-weight:600;font-size:12px;text-transform:uppercase}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr:hover td{background:#f1f5f9}a{color:var(--accent)}
.chart{width:100%;height:auto;max-height:300px}.chart .v{font-size:11px;fill:#0f172a}.chart .l{font-size:11px;fill:#475569}.chart a.bar rect:hover{opacity:.8}
.login{max-width:360px;margin:80px auto;background:#fff;border:1px solid var(--line);border-radius:12px;padding:28px}
.login label{display:block;margin:10px 0 4px;font-size:13px;color:var(--mute)}.login input{width:100%}.login button{margin-top:16px;width:100%}
.err{color:var(--red)}.muted{color:var(--mute);font-size:13px}
.work-form{display:flex;flex-direction:column;gap:10px;margin-bottom:18px}.work-form .row{display:flex;gap:12px;flex-wrap:wrap}
.work-form label{display:flex;flex-direction:column;font-size:13px;color:var(--mute);gap:2px}.work-form label.wide textarea{width:100%}
.work-form fieldset{border:1px solid var(--line);border-radius:8px;display:flex;flex-wrap:wrap;gap:4px 16px;max-height:160px;overflow:auto}
.work-form label.check{flex-direction:row;align-items:center;gap:6px;color:var(--ink)}.work-form button{align-self:flex-start}
.work{margin-bottom:18px}
.pills,.pager{display:flex;flex-wrap:wrap;gap:6px;margin:8px 0 14px}.pills a,.pager a{padding:3px 10px;border:1px solid var(--line);border-radius:14px;text-decoration:none;color:var(--ink);background:var(--card)}
.pills a[aria-current],.pager a[aria-current]{background:var(--accent);color:#fff;border-color:var(--accent)}
.receipt{border:1px solid var(--line);border-radius:8px;padding:10px 12px;margin:0 0 12px}.receipt-head{display:flex;gap:16px;flex-wrap:wrap;align-items:baseline;font-size:15px}.receipt-head b{font-size:17px}
button.secondary{background:#fff;color:var(--ink);border:1px solid #cbd5e1;border-radius:6px;padding:6px 12px;font:inherit;cursor:pointer}.remit{margin:4px 0;font-family:ui-monospace,monospace;font-size:13px;overflow-wrap:anywhere}
table.candidates input[size]{width:auto}
ul.reasons{margin:0;padding-left:18px}ul.reasons li{margin:0}#worklist td{vertical-align:top}
.ok{color:#166534}form.inline{display:inline-flex;gap:4px;align-items:center}pre.letter{white-space:pre-wrap;font:14px/1.5 system-ui,sans-serif;margin:0}
ul.steps{margin:0 0 12px;padding-left:18px;font-size:13px}.work-form textarea{font:13px/1.4 ui-monospace,monospace}
td.actions{white-space:nowrap}main.portal{max-width:860px}main.portal .work-form textarea{font:inherit}tfoot th{color:var(--ink);font-size:14px}
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
