//! Saved views and the dashboard of each role, for scope: a shared view never widens a
//! collector's or a viewer's portfolio; private views stay their owner's; an admin chooses the
//! cards of each role's dashboard and their order.

mod common;
use common::{App, Client, csrf_of};

async fn post(app: &App, c: &Client, path: &str, body: &str) -> common::Resp {
    c.send(&app.base, "POST", path, body, &[]).await
}

fn location(r: &common::Resp) -> String {
    r.headers
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .unwrap_or_else(|| panic!("no location: {}", r.headers))
        .trim()
        .to_string()
}

/// Saves a view as `c`; the id from the redirect to it.
async fn save(app: &App, c: &Client, form: &str) -> String {
    let csrf = csrf_of(&app.get(c, "/views").await.body);
    let r = post(app, c, "/views", &format!("csrf={csrf}&{form}")).await;
    assert_eq!(r.status, 303, "{form}: {}", r.body);
    location(&r).trim_start_matches("/views/").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_view_never_widens_a_portfolio() {
    let app = App::start().await;
    let admin = app.login("admin").await;
    let lea = app.login("lea").await;
    let nord = app.login("nord").await;

    // The admin shares "Sud, by customer, on 2024-06-30" on the customers page.
    let sud = save(
        &app,
        &admin,
        "name=Sud+fin+juin&page=%2Fcustomers&query=as_of%3D2024-06-30%26filter%3Dregion%253DSud%26sort%3Dbalance&mode=fixed&shared=1",
    )
    .await;
    // Opening it leads to the page with its query and date.
    let r = app.get(&admin, &format!("/views/{sud}")).await;
    assert_eq!(r.status, 303);
    let to = location(&r);
    assert_eq!(
        to,
        "/customers?filter=region%3DSud&sort=balance&as_of=2024-06-30"
    );
    let page = app.get(&admin, &to).await.body;
    assert!(page.contains("C-SUD-1") && !page.contains("C-NORD-1"));
    // Léa (collector, Léa's customers: C-NORD-1 only) sees it listed and opens it: Sud
    // within her portfolio is nobody; her own customer is not shown either (the filter
    // narrows), and no other one ever is.
    let list = app.get(&lea, "/views").await.body;
    assert!(list.contains("Sud fin juin"));
    let r = app.get(&lea, &format!("/views/{sud}")).await;
    assert_eq!(location(&r), to);
    let page = app.get(&lea, &to).await.body;
    for id in ["C-SUD-1", "C-NORD-2", "C-NORD-1"] {
        assert!(!page.contains(id), "{id} in Léa's view");
    }
    assert!(page.contains("Total (0)"));
    // A shared view of the whole ledger: Léa still sees only hers.
    let all = save(
        &app,
        &admin,
        "name=Tout&page=%2Faging&query=buckets%3D30%2C60&mode=today&shared=1",
    )
    .await;
    let to = location(&app.get(&lea, &format!("/views/{all}")).await);
    assert_eq!(to, "/aging?buckets=30%2C60");
    let page = app.get(&lea, &to).await.body;
    assert!(page.contains("C-NORD-1"));
    assert!(!page.contains("C-NORD-2") && !page.contains("C-SUD-1"));
    // The viewer of region Nord: C-NORD-1 and C-NORD-2, never C-SUD-1.
    let page = app.get(&nord, &to).await.body;
    assert!(page.contains("C-NORD-1") && page.contains("C-NORD-2"));
    assert!(!page.contains("C-SUD-1"));

    // Léa's private view: hers only.
    let mine = save(
        &app,
        &lea,
        "name=Mes+retards&page=%2Fcustomers&query=sort%3Doverdue&mode=month_end",
    )
    .await;
    assert!(app.get(&lea, "/views").await.body.contains("Mes retards"));
    assert!(!app.get(&nord, "/views").await.body.contains("Mes retards"));
    assert_eq!(app.get(&nord, &format!("/views/{mine}")).await.status, 404);
    // The month-end mode: the last month-end on or before the ledger's latest day.
    let to = location(&app.get(&lea, &format!("/views/{mine}")).await);
    assert!(to.starts_with("/customers?sort=overdue&as_of="), "{to}");

    // Deleting: not somebody else's shared view (unless admin), one's own yes.
    let csrf = csrf_of(&app.get(&lea, "/views").await.body);
    let r = post(
        &app,
        &lea,
        &format!("/views/{sud}/delete"),
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = post(
        &app,
        &lea,
        &format!("/views/{mine}/delete"),
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, 303);
    assert_eq!(app.get(&lea, &format!("/views/{mine}")).await.status, 404);
    // Without the token, nothing.
    let r = post(&app, &admin, &format!("/views/{sud}/delete"), "csrf=nope").await;
    assert_eq!(r.status, 403);
    assert_eq!(app.get(&admin, &format!("/views/{sud}")).await.status, 303);

    // A view that cannot be opened is refused with the reason, nothing saved.
    let csrf = csrf_of(&app.get(&admin, "/views").await.body);
    let r = post(
        &app,
        &admin,
        "/views",
        &format!("csrf={csrf}&name=Bad&page=%2Faging&query=buckets%3D90%2C30&mode=today"),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        r.body
            .contains("query: buckets: expected increasing positive day counts")
    );
    assert!(!app.get(&admin, "/views").await.body.contains(">Bad<"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_chooses_each_roles_dashboard() {
    let app = App::start().await;
    let admin = app.login("admin").await;
    let lea = app.login("lea").await;
    let csrf = csrf_of(&app.get(&admin, "/settings").await.body);
    // Collectors: the aged balance, the overdue amount, the top debtors, the balance; nothing
    // else. The key figures come first, then the cards, each in the order given.
    let r = post(
        &app,
        &admin,
        "/settings/dashboards",
        &format!(
            "csrf={csrf}&collector.aging=1&collector.overdue=2&collector.top_debtors=3&collector.balance=4&viewer.balance="
        ),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = app.get(&lea, "/?as_of=2024-06-30").await.body;
    let cards: Vec<&str> = page
        .split(r#"data-card=""#)
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .collect();
    assert_eq!(cards, ["overdue", "balance", "aging", "top_debtors"]);
    // The admin keeps every card.
    let page = app.get(&admin, "/?as_of=2024-06-30").await.body;
    let n = page.matches(r#"data-card=""#).count();
    assert!(n >= 10, "{n} cards");
    // The form shows the positions saved.
    let s = app.get(&admin, "/settings").await.body;
    assert!(s.contains(r#"name="collector.aging" value="1""#));
    assert!(s.contains(r#"name="collector.overdue" value="2""#));
    // Refused: not a position; not an admin.
    let r = post(
        &app,
        &admin,
        "/settings/dashboards",
        &format!("csrf={csrf}&collector.aging=first"),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body
            .contains("collector.aging: expected a position from 1 to 99")
    );
    let lcsrf = csrf_of(&app.get(&lea, "/").await.body);
    let r = post(
        &app,
        &lea,
        "/settings/dashboards",
        &format!("csrf={lcsrf}&collector.balance=1"),
    )
    .await;
    assert_eq!(r.status, 403);
}
