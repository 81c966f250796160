//! The ledger's image: a process starting on a ledger with an image reads it and the events
//! stored after it, and reports exactly what a build from every stored event reports; an image
//! that is damaged, of another ledger or of a ledger whose dates differ and grew is not used.

mod common;

use arpilot_app::Views;
use arpilot_app::import::{Author, Incoming, import, push};
use arpilot_app::view::load;
use arpilot_core::report::{ReportParams, report};
use arpilot_core::worklist::{WorklistParams, worklist};
use arpilot_core::{Day, Selection, Snapshot};
use arpilot_store::{LedgerStore, NewBatch, Store, Target};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The store, counting the reads of the whole ledger.
struct Counting<'a> {
    inner: &'a Store,
    whole_reads: AtomicUsize,
}

impl LedgerStore for Counting<'_> {
    async fn meta(&self, key: &str) -> arpilot_store::Result<Option<String>> {
        self.inner.meta(key).await
    }
    async fn load(&self) -> arpilot_store::Result<arpilot_store::Loaded> {
        self.whole_reads.fetch_add(1, Ordering::SeqCst);
        self.inner.load().await
    }
    async fn load_since(&self, after_seq: i64) -> arpilot_store::Result<arpilot_store::Loaded> {
        if after_seq == 0 {
            self.whole_reads.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.load_since(after_seq).await
    }
    async fn batch_end(&self, batch_id: i64) -> arpilot_store::Result<i64> {
        self.inner.batch_end(batch_id).await
    }
    async fn block(&self, seq: i64) -> arpilot_store::Result<Option<String>> {
        self.inner.block(seq).await
    }
    fn image_path(&self) -> Option<PathBuf> {
        self.inner.image_path()
    }
    async fn append(
        &self,
        batch: &NewBatch,
        meta: &[(&str, &str)],
        events: &[arpilot_core::Event],
        expected_last_seq: i64,
        progress: &(dyn Fn(usize) + Sync),
    ) -> arpilot_store::Result<i64> {
        self.inner
            .append(batch, meta, events, expected_last_seq, progress)
            .await
    }
    async fn batches(&self) -> arpilot_store::Result<Vec<arpilot_store::Batch>> {
        self.inner.batches().await
    }
    async fn event_count(&self) -> arpilot_store::Result<i64> {
        self.inner.event_count().await
    }
}

fn d(s: &str) -> Day {
    Day::parse_iso(s).unwrap()
}

fn json(snap: &Snapshot, as_of: &str) -> String {
    let r = report(snap, &Selection::all(), &ReportParams::new(d(as_of))).unwrap();
    serde_json::to_string(&r).unwrap()
}

fn author() -> Author {
    Author {
        user: "test".into(),
        entity: None,
        effective: d("2024-04-02"),
    }
}

/// The reports and the worklist of `views`, beside those of a build from every stored event
/// (the image moved away meanwhile).
async fn same_as_built(views: &Views, store: &Store, image: &Path) {
    let aside = image.with_extension("aside");
    std::fs::rename(image, &aside).unwrap();
    let built = load(store, None, None).await.unwrap();
    std::fs::rename(&aside, image).unwrap();
    let live = views.current();
    for as_of in ["2024-03-31", "2024-02-29"] {
        assert_eq!(json(&live, as_of), json(&built.snapshot, as_of), "{as_of}");
    }
    assert_eq!(views.latest(), built.as_of);
    assert_eq!(views.loaded(), built.events);
    let th = Default::default();
    let p = WorklistParams::default();
    let all = Selection::all();
    assert_eq!(
        worklist(&live, &all, views.latest(), &th, &p),
        worklist(&built.snapshot, &all, built.as_of, &th, &p)
    );
}

/// A new SQLite ledger in a directory of its own (emptied first).
async fn new_store(name: &str) -> (PathBuf, Store) {
    let dir = std::env::temp_dir().join(format!("arpilot-app-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&Target::Sqlite(dir.join("ledger.db")))
        .await
        .unwrap();
    (dir, store)
}

/// A push of payment `id` of `customer` allocated to `invoice`, on 31 March 2024.
fn paid(id: &str, customer: &str, invoice: &str, amount: &str) -> serde_json::Value {
    serde_json::json!({"events": [
        {"type": "payment", "payment_id": id, "customer_id": customer, "date": "2024-03-31", "amount": amount},
        {"type": "allocation", "source_id": id, "invoice_id": invoice, "date": "2024-03-31", "amount": amount}
    ]})
}

/// Customer `id` as the small fixture has it.
fn set_customer(id: &str) -> arpilot_core::Event {
    common::small_events()
        .into_iter()
        .find(|e| matches!(e, arpilot_core::Event::Customer(c) if c.id == id))
        .unwrap()
}

async fn write_image(views: &Views, store: &Store) -> u64 {
    let mut job = views
        .image_job(store, false)
        .await
        .unwrap()
        .expect("a SQLite ledger keeps an image");
    let arpilot_app::image::Written::Bytes(bytes) = job.write().unwrap() else {
        panic!("a job that does not give way is written");
    };
    views.image_written(&job);
    bytes
}

#[tokio::test]
async fn a_start_reads_the_image_and_what_was_stored_after_it() {
    let dir = std::env::temp_dir().join(format!("arpilot-app-image-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let target = Target::Sqlite(dir.join("ledger.db"));
    let store = Store::open(&target).await.unwrap();
    let image = store.image_path().unwrap();
    assert_eq!(image, dir.join("ledger.db.image"));
    let events = common::small_events();
    let n = events.len() as i64;
    common::import_events(&store, events).await;
    // The import left an image (see `an_import_that_read_the_ledger_leaves_its_image`).
    std::fs::remove_file(&image).unwrap();

    // No image: the views are built from the ledger, and the image is behind by all of it.
    let views = Views::open(&store).await.unwrap();
    assert_eq!(views.image_behind(), None);
    assert_eq!(views.loaded(), n);
    assert!(write_image(&views, &store).await > 0);
    assert_eq!(views.image_behind(), Some(0));

    // A start on the image alone.
    let again = Views::open(&store).await.unwrap();
    assert_eq!(again.image_behind(), Some(0), "read from the image");
    same_as_built(&again, &store, &image).await;
    let cur = again.current().currency;

    // Events stored after the image (a payment and a call, through another process): a start
    // reads the image and only those.
    let more: serde_json::Value = serde_json::from_str(
        r#"{"events": [
            {"type": "payment", "payment_id": "P9", "customer_id": "C3", "date": "2024-03-31", "amount": "100.00", "invoice_id": "F5"},
            {"type": "action", "customer_id": "C3", "date": "2024-03-31", "kind": "call", "agent": "Camille", "note": "will pay"}
        ]}"#,
    )
    .unwrap();
    push(&store, None, &more, cur, &author()).await.unwrap();
    let third = Views::open(&store).await.unwrap();
    assert_eq!(
        third.image_behind(),
        Some(2),
        "the image and two events after it"
    );
    assert_eq!(third.latest(), d("2024-03-31"));
    same_as_built(&third, &store, &image).await;
    // The call is known by its content: the same push again adds nothing.
    let o = push(&store, Some(&third), &more, cur, &author())
        .await
        .unwrap();
    assert_eq!((o.batch, o.unchanged), (None, 2));
    // Written again, the image holds the call among its counts.
    write_image(&third, &store).await;

    // An import of customers as the ledger has them, a new customer and its payment, and a
    // call already recorded: planned from the image and the events after it, without reading
    // the ledger, as the synchronisation would plan it.
    let counting = Counting {
        inner: &store,
        whole_reads: AtomicUsize::new(0),
    };
    let c1 = set_customer("C1");
    let batch_events = || {
        let mut v = vec![c1.clone()];
        let body: serde_json::Value = serde_json::from_str(
                r#"{"events": [
                    {"type": "customer", "customer_id": "C9", "name": "Nouveau SAS"},
                    {"type": "payment", "payment_id": "P30", "customer_id": "C9", "date": "2024-03-31", "amount": "12.00"},
                    {"type": "action", "customer_id": "C3", "date": "2024-03-31", "kind": "call", "agent": "Camille", "note": "will pay"}
                ]}"#,
        )
        .unwrap();
        v.extend(arpilot_ingest::json::read(&body, cur, &|_| false).unwrap());
        v
    };
    let incoming = |events| {
        Incoming::new(
            events,
            cur,
            NewBatch::for_import("daily".into(), String::new(), "ledger", None, "t".into()),
            d("2024-04-01"),
            vec![],
        )
    };
    let o = import(&counting, incoming(batch_events()), &|_| {})
        .await
        .unwrap();
    assert!(o.batch_id.is_some());
    assert_eq!(
        (o.counts.appended, o.counts.unchanged, o.counts.payments),
        (2, 2, 1)
    );
    assert_eq!(
        counting.whole_reads.load(Ordering::SeqCst),
        0,
        "the ledger was not read"
    );
    // Again: the payment's id is in the ledger now, which only the synchronisation with the
    // stored events can compare; it finds everything there.
    let o = import(&counting, incoming(batch_events()), &|_| {})
        .await
        .unwrap();
    assert_eq!((o.batch_id, o.counts.unchanged), (None, 4));
    assert_eq!(counting.whole_reads.load(Ordering::SeqCst), 1);
    let seventh = Views::open(&store).await.unwrap();
    same_as_built(&seventh, &store, &image).await;
    // A new call counted beside those read with the image, both written in the next image: the
    // same call pushed to a server started from it is already there.
    let call: serde_json::Value = serde_json::from_str(
        r#"{"events": [{"type": "action", "customer_id": "C2", "date": "2024-03-31", "kind": "email", "agent": "Camille"}]}"#,
    )
    .unwrap();
    let o = push(&store, Some(&seventh), &call, cur, &author())
        .await
        .unwrap();
    assert_eq!((o.appended, o.unchanged), (1, 0));
    write_image(&seventh, &store).await;
    let eighth = Views::open(&store).await.unwrap();
    assert_eq!(eighth.image_behind(), Some(0));
    for again in [&call, &more] {
        let o = push(&store, Some(&eighth), again, cur, &author())
            .await
            .unwrap();
        assert_eq!(o.batch, None, "{again}");
    }
    same_as_built(&eighth, &store, &image).await;

    // A damaged image is not used: the views are built from the ledger, with the same figures.
    let mut bytes = std::fs::read(&image).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&image, &bytes).unwrap();
    let fourth = Views::open(&store).await.unwrap();
    assert_eq!(fourth.image_behind(), None, "built from the ledger");
    bytes[100] ^= 1;
    std::fs::write(&image, &bytes).unwrap();

    // The image of another ledger (same first events, then a different one) is not used.
    let other_target = Target::Sqlite(dir.join("other.db"));
    let other = Store::open(&other_target).await.unwrap();
    let mut events = common::small_events();
    events.push(arpilot_core::Event::Payment(
        arpilot_core::ledger::PaymentRec {
            id: "P77".into(),
            customer_id: "C1".into(),
            date: d("2024-03-31"),
            amount: 700,
            currency: None,
            invoice_id: None,
            reference: None,
        },
    ));
    common::import_events(&other, events).await;
    // Its first block differs from ours (one payment more): our image is not its image.
    std::fs::copy(&image, other.image_path().unwrap()).unwrap();
    let theirs = Views::open(&other).await.unwrap();
    assert_eq!(
        theirs.image_behind(),
        None,
        "another ledger's image is not used"
    );
    assert!(theirs.current().sources.ids.find("P77").is_some());
    assert!(theirs.current().sources.ids.find("P9").is_none());

    // An amendment (a changed customer) after the image: its dates differ now, so a start
    // builds from the ledger; written again, the image is used for the latest date.
    let amend: serde_json::Value = serde_json::from_str(
        r#"{"events": [{"type": "customer", "customer_id": "C1", "name": "Renamed SA"}]}"#,
    )
    .unwrap();
    push(&store, None, &amend, cur, &author()).await.unwrap();
    let fifth = Views::open(&store).await.unwrap();
    assert_eq!(
        fifth.image_behind(),
        None,
        "an amendment after the image: built"
    );
    same_as_built(&fifth, &store, &image).await;
    write_image(&fifth, &store).await;
    let sixth = Views::open(&store).await.unwrap();
    assert_eq!(sixth.image_behind(), Some(0));
    same_as_built(&sixth, &store, &image).await;
    // The renaming takes effect on 2 April, after the view's date: not seen yet.
    let snap = sixth.current();
    let c1 = snap.customers.ids.find("C1").unwrap() as usize;
    assert_eq!(snap.customers.names[c1], "Alpha SARL");

    // Past dates of that dated ledger, on a start from the image: the parts other dates are
    // built from are read once (in the background on a server), then every past date is built
    // from memory, as a build from the store builds it.
    let counting = Counting {
        inner: &store,
        whole_reads: AtomicUsize::new(0),
    };
    let seventh = Views::open(&counting).await.unwrap();
    assert_eq!(seventh.image_behind(), Some(0));
    seventh.warm_dated(&counting).await.unwrap();
    assert_eq!(counting.whole_reads.load(Ordering::SeqCst), 1);
    seventh.warm_dated(&counting).await.unwrap();
    for as_of in ["2024-04-05", "2024-02-29", "2024-01-31"] {
        let past = seventh.at(&counting, Some(d(as_of))).await.unwrap();
        let built = load(&store, Some(d(as_of)), None).await.unwrap();
        assert_eq!(json(&past, as_of), json(&built.snapshot, as_of), "{as_of}");
        let names =
            |s: &Snapshot| s.customers.names[s.customers.ids.find("C1").unwrap() as usize].clone();
        let want = if as_of == "2024-04-05" {
            "Renamed SA"
        } else {
            "Alpha SARL"
        };
        assert_eq!(names(&past), want, "{as_of}");
    }
    assert_eq!(
        counting.whole_reads.load(Ordering::SeqCst),
        1,
        "past dates built from memory"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A push while the image is being written: the writing gives the view back and is told it gave
/// way; the push changes the view in place rather than copying it, and nothing was written.
/// Then, without a push meanwhile, the same kind of job writes the image.
#[tokio::test]
async fn writing_the_image_gives_the_view_back_to_a_push() {
    let (dir, store) = new_store("giveway").await;
    let image = store.image_path().unwrap();
    common::import_events(&store, common::small_events()).await;
    std::fs::remove_file(&image).unwrap();
    let views = Views::open(&store).await.unwrap();
    let cur = views.current().currency;
    // Where the view is: the same address after the push means it was changed in place.
    let at = Arc::as_ptr(&views.current()) as usize;
    let mut job = views.image_job(&store, true).await.unwrap().unwrap();
    let call: serde_json::Value = serde_json::from_str(
        r#"{"events": [{"type": "action", "customer_id": "C2", "date": "2024-03-31", "kind": "call", "agent": "Camille"}]}"#,
    )
    .unwrap();
    let writing = async {
        // The push asks for the view; the job, run now, stops at once.
        while !job.asked() {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        job.write().unwrap()
    };
    let by = author();
    let (pushed, written) = tokio::join!(push(&store, Some(&views), &call, cur, &by), writing);
    assert_eq!(pushed.unwrap().appended, 1);
    assert_eq!(written, arpilot_app::image::Written::GaveWay);
    assert!(!image.exists(), "nothing written");
    assert_eq!(Arc::as_ptr(&views.current()) as usize, at, "not copied");
    assert_eq!(views.image_behind(), None);
    // Nobody asks now: written, with the call.
    let mut job = views.image_job(&store, true).await.unwrap().unwrap();
    assert!(matches!(
        job.write().unwrap(),
        arpilot_app::image::Written::Bytes(_)
    ));
    views.image_written(&job);
    assert_eq!(views.image_behind(), Some(0));
    same_as_built(&Views::open(&store).await.unwrap(), &store, &image).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// An import that reads the whole ledger checks its batch on a snapshot of all of it: the one a
/// start would build from every stored event. It leaves that snapshot as the ledger's image, so
/// the next start reads the image rather than the ledger — unless a start would build another
/// (dates that differ), or a server keeps the image itself.
#[tokio::test]
async fn an_import_that_read_the_ledger_leaves_its_image() {
    let (dir, store) = new_store("import-image").await;
    let image = store.image_path().unwrap();
    let counting = Counting {
        inner: &store,
        whole_reads: AtomicUsize::new(0),
    };
    let events = common::small_events();
    let n = events.len() as i64;
    common::import_events(&store, events).await;
    assert!(image.exists(), "the first import leaves an image");
    let first = Views::open(&counting).await.unwrap();
    assert_eq!(first.image_behind(), Some(0));
    assert_eq!(first.loaded(), n);
    assert_eq!(
        counting.whole_reads.load(Ordering::SeqCst),
        0,
        "read from the image"
    );
    same_as_built(&first, &store, &image).await;
    let cur = first.current().currency;

    // A batch with an allocation is planned against the stored events (the whole ledger read):
    // the image is written again, with it.
    let allocated = paid("P40", "C2", "F3", "140.50");
    let o = push(&store, None, &allocated, cur, &author())
        .await
        .unwrap();
    assert_eq!(o.appended, 2);
    let second = Views::open(&counting).await.unwrap();
    assert_eq!(
        second.image_behind(),
        Some(0),
        "written again with the batch"
    );
    assert_eq!(second.loaded(), n + 2);
    assert_eq!(counting.whole_reads.load(Ordering::SeqCst), 0);
    same_as_built(&second, &store, &image).await;
    let f3 = second.current().invoices.ids.find("F3").unwrap() as usize;
    assert_eq!(second.current().allocs_of(f3).count(), 2, "P2's and P40's");

    // Through a server's views, the same kind of batch leaves the image alone: the server
    // writes it when it sees fit.
    let written = std::fs::metadata(&image).unwrap().modified().unwrap();
    let more = paid("P41", "C1", "F2", "50.00");
    let o = push(&store, Some(&second), &more, cur, &author())
        .await
        .unwrap();
    assert_eq!(o.appended, 2);
    assert_eq!(
        std::fs::metadata(&image).unwrap().modified().unwrap(),
        written
    );
    let third = Views::open(&store).await.unwrap();
    assert_eq!(
        third.image_behind(),
        Some(2),
        "the image and the two events after it"
    );
    same_as_built(&third, &store, &image).await;

    // A customer changed (an amendment): a view of each date differs, so a start builds it
    // from the ledger; the import leaves the image as it was.
    let amend: serde_json::Value = serde_json::from_str(
        r#"{"events": [{"type": "customer", "customer_id": "C1", "name": "Renamed SA"}]}"#,
    )
    .unwrap();
    push(&store, None, &amend, cur, &author()).await.unwrap();
    assert_eq!(
        std::fs::metadata(&image).unwrap().modified().unwrap(),
        written
    );
    let fourth = Views::open(&store).await.unwrap();
    assert_eq!(fourth.image_behind(), None, "built from the ledger");
    same_as_built(&fourth, &store, &image).await;
    let _ = std::fs::remove_dir_all(&dir);
}
