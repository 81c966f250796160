//! Factur-X / ZUGFeRD PDFs: the invoice is the XML file embedded in the PDF/A-3, announced in
//! the document's XMP metadata. Both are checked: a PDF whose metadata does not declare the
//! invoice, or whose XMP does not parse, is not a Factur-X invoice.

use lopdf::{Document, Object};

/// Names under which the three generations embed the invoice.
const NAMES: [&str; 5] = [
    "factur-x.xml",
    "zugferd-invoice.xml",
    "ZUGFeRD-invoice.xml",
    "xrechnung.xml",
    "order-x.xml",
];

/// Largest embedded XML read.
const MAX_XML: usize = 20 << 20;

fn text_string(o: &Object) -> Option<String> {
    let b = o.as_str().ok()?;
    if b.starts_with(&[0xFE, 0xFF]) {
        let u: Vec<u16> = b[2..]
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        Some(String::from_utf16_lossy(&u))
    } else {
        Some(b.iter().map(|&c| c as char).collect())
    }
}

/// The object itself, or what a reference points to.
fn resolve<'a>(doc: &'a Document, o: &'a Object) -> Option<&'a Object> {
    match o {
        Object::Reference(r) => doc.get_object(*r).ok(),
        o => Some(o),
    }
}

fn name_of(d: &lopdf::Dictionary) -> Option<String> {
    d.get(b"UF")
        .ok()
        .and_then(text_string)
        .or_else(|| d.get(b"F").ok().and_then(text_string))
}

/// The embedded invoice XMLs of a Factur-X/ZUGFeRD PDF, the one its XMP metadata names first,
/// each with the name it was embedded under.
pub fn invoice_xmls(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let doc = Document::load_mem(bytes).map_err(|e| {
        format!("not a readable PDF ({e}); expected a Factur-X/ZUGFeRD PDF/A-3 invoice")
    })?;
    check_pages(&doc)?;
    let mut found: Vec<(usize, String, Vec<u8>)> = Vec::new();
    for obj in doc.objects.values() {
        let Ok(d) = obj.as_dict() else { continue };
        let Some(ef) = d
            .get(b"EF")
            .ok()
            .and_then(|o| resolve(&doc, o))
            .and_then(|o| o.as_dict().ok())
        else {
            continue;
        };
        let Some(name) = name_of(d) else { continue };
        let Some(rank) = NAMES.iter().position(|n| n.eq_ignore_ascii_case(&name)) else {
            continue;
        };
        let stream = ef
            .get(b"F")
            .or_else(|_| ef.get(b"UF"))
            .ok()
            .and_then(|o| resolve(&doc, o))
            .and_then(|o| o.as_stream().ok())
            .ok_or_else(|| format!("embedded file {name:?} has no readable stream"))?;
        let xml = stream
            .get_plain_content_with_limit(MAX_XML)
            .map_err(|e| format!("embedded file {name:?} cannot be decompressed: {e}"))?;
        found.push((rank, name, xml));
    }
    if found.is_empty() {
        return Err(format!(
            "no embedded invoice in this PDF (expected an attachment named {})",
            NAMES[..3].join(", ")
        ));
    }
    let named = check_xmp(&doc)?;
    if !named
        .iter()
        .any(|n| found.iter().any(|f| f.1.eq_ignore_ascii_case(n)))
    {
        return Err(format!(
            "XMP metadata names {} but the PDF embeds {} (expected the same file)",
            named.join(", "),
            found
                .iter()
                .map(|f| f.1.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    found.sort_by_key(|f| (!named.iter().any(|n| n.eq_ignore_ascii_case(&f.1)), f.0));
    Ok(found.into_iter().map(|f| (f.1, f.2)).collect())
}

/// The page tree must hold pages: a catalog pointing elsewhere is a broken file.
fn check_pages(doc: &Document) -> Result<(), String> {
    let pages = doc
        .catalog()
        .ok()
        .and_then(|c| c.get(b"Pages").ok())
        .and_then(|p| resolve(doc, p))
        .and_then(|p| p.as_dict().ok());
    let is_pages = pages.is_some_and(|p| {
        p.get(b"Type")
            .ok()
            .and_then(|t| t.as_name().ok())
            .is_some_and(|t| t == b"Pages")
    });
    if !is_pages || doc.get_pages().is_empty() {
        return Err(
            "the PDF's page tree is broken (expected a catalog pointing to its pages)".into(),
        );
    }
    Ok(())
}

/// Conformance levels of the Factur-X and ZUGFeRD XMP extension schemas.
const LEVELS: [&str; 8] = [
    "MINIMUM",
    "BASIC WL",
    "BASIC",
    "EN 16931",
    "COMFORT",
    "EXTENDED",
    "XRECHNUNG",
    "EN16931",
];

/// The XMP packet must parse, declare a known conformance level and name the invoice file, as
/// the PDF/A-3 invoice profiles require. Returns the file names it declares.
fn check_xmp(doc: &Document) -> Result<Vec<String>, String> {
    let meta = doc
        .catalog()
        .ok()
        .and_then(|c| c.get(b"Metadata").ok())
        .and_then(|m| resolve(doc, m))
        .and_then(|o| o.as_stream().ok())
        .ok_or("no XMP metadata in the PDF (expected the Factur-X/ZUGFeRD extension schema)")?;
    let xmp = meta
        .get_plain_content_with_limit(MAX_XML)
        .map_err(|e| format!("XMP metadata cannot be read: {e}"))?;
    let mut r = quick_xml::Reader::from_reader(xmp.as_slice());
    let mut buf = Vec::new();
    let mut names = Vec::new();
    let mut levels = Vec::new();
    let mut field: Option<String> = None;
    let take = |key: &str, v: String, names: &mut Vec<String>, levels: &mut Vec<String>| match key {
        "DocumentFileName" => names.push(v),
        "ConformanceLevel" => levels.push(v),
        _ => {}
    };
    loop {
        match r.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                field = Some(e.local_name().as_ref().to_string());
                // Attribute form: <rdf:Description fx:DocumentFileName="factur-x.xml" …>
                for a in e.attributes().flatten() {
                    let k = a.key.local_name().as_ref().to_string();
                    take(&k, a.value.to_string(), &mut names, &mut levels);
                }
            }
            Ok(quick_xml::events::Event::Text(t)) => {
                if let Some(f) = &field {
                    let v = t.as_ref().trim().to_string();
                    if !v.is_empty() {
                        take(f, v, &mut names, &mut levels);
                    }
                }
            }
            Ok(quick_xml::events::Event::End(_)) => field = None,
            Ok(_) => {}
            Err(e) => {
                return Err(format!(
                    "XMP metadata is not well-formed XML at byte {}: {e}",
                    r.buffer_position()
                ));
            }
        }
        buf.clear();
    }
    if names.is_empty() {
        return Err(
            "XMP metadata has no DocumentFileName (expected the Factur-X/ZUGFeRD extension schema)"
                .into(),
        );
    }
    if let Some(bad) = levels
        .iter()
        .find(|l| !LEVELS.iter().any(|k| k.eq_ignore_ascii_case(l)))
    {
        return Err(format!(
            "XMP metadata declares conformance level {bad:?} (expected one of {})",
            LEVELS[..7].join(", ")
        ));
    }
    Ok(names)
}
