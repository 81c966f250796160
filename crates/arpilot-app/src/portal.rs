//! Signed links to the customer portal: one customer, an expiry date, and an HMAC-SHA256 of both
//! under the ledger's secret. Changing the customer, the date or the signature gives nothing.

use arpilot_core::Day;
use sha2::{Digest, Sha256};

/// The setting holding the portal's signing key (created on first use).
pub const SECRET_KEY: &str = "portal.secret";

fn hmac(key: &[u8], msg: &[u8]) -> [u8; 32] {
    // RFC 2104 with SHA-256 (64-byte blocks).
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Customer ids travel hex-encoded, so that any id fits in a URL path segment.
fn hex_id(id: &str) -> String {
    hex(id.as_bytes())
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 400 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|k| u8::from_str_radix(s.get(k..k + 2)?, 16).ok())
        .collect()
}

/// The token of customer `id`'s portal, valid to `expires` included.
pub fn token(secret: &str, id: &str, expires: Day) -> String {
    let payload = format!("{}.{}", hex_id(id), expires.0);
    let sig = hmac(secret.as_bytes(), payload.as_bytes());
    format!("{payload}.{}", hex(&sig[..20]))
}

/// The customer a token opens on `today`: `None` for a token altered, expired or malformed.
pub fn verify(secret: &str, token: &str, today: Day) -> Option<String> {
    let mut parts = token.splitn(3, '.');
    let (id, exp, sig) = (parts.next()?, parts.next()?, parts.next()?);
    let expires: i32 = exp.parse().ok()?;
    let payload = format!("{id}.{exp}");
    let want = hex(&hmac(secret.as_bytes(), payload.as_bytes())[..20]);
    // Compared in constant time: the signature is the only secret-dependent part.
    if want.len() != sig.len()
        || want
            .bytes()
            .zip(sig.bytes())
            .fold(0u8, |a, (x, y)| a | (x ^ y))
            != 0
    {
        return None;
    }
    if today.0 > expires {
        return None;
    }
    String::from_utf8(unhex(id)?).ok()
}

/// A new random secret (32 bytes, hex).
pub fn new_secret() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("system randomness");
    hex(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_rfc4231_case_2() {
        assert_eq!(
            hex(&hmac(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn tokens_open_one_customer_until_they_expire() {
        let d = Day::parse_iso("2026-10-31").unwrap();
        let t = token("s3cret", "C 001/é", Day(d.0 + 30));
        assert_eq!(verify("s3cret", &t, d).as_deref(), Some("C 001/é"));
        assert_eq!(verify("other", &t, d), None);
        assert_eq!(verify("s3cret", &t, Day(d.0 + 31)), None);
        // Another customer with the same signature, a later expiry, a changed signature.
        let other = t.replacen(&hex_id("C 001/é"), &hex_id("C 002"), 1);
        assert_eq!(verify("s3cret", &other, d), None);
        let later = t.replacen(&(d.0 + 30).to_string(), &(d.0 + 300).to_string(), 1);
        assert_eq!(verify("s3cret", &later, d), None);
        let mut bad = t.clone();
        let last = bad.pop().unwrap();
        bad.push(if last == '0' { '1' } else { '0' });
        assert_eq!(verify("s3cret", &bad, d), None);
        assert_eq!(verify("s3cret", "garbage", d), None);
    }
}
