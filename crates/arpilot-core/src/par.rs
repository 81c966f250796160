//! Data parallelism over contiguous row ranges (the machine's cores, scoped threads, no pool).

use std::ops::Range;

/// Below this many rows a single thread is faster than starting others.
const MIN_PARALLEL_ROWS: usize = 200_000;

/// Runs `f` on one contiguous chunk of `0..n` per core and returns the results in chunk order.
pub fn chunked<T: Send>(n: usize, f: impl Fn(Range<usize>) -> T + Sync) -> Vec<T> {
    let threads = if n < MIN_PARALLEL_ROWS {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |p| p.get().min(8))
    };
    if threads == 1 {
        return vec![f(0..n)];
    }
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| s.spawn(move || f(t * n / threads..(t + 1) * n / threads)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker panicked"))
            .collect()
    })
}

/// The part of `0..m` proportional to `r`'s part of `0..n` (to split a second table alike).
pub fn share(m: usize, n: usize, r: &Range<usize>) -> Range<usize> {
    if n == 0 {
        return 0..m;
    }
    let at = |x: usize| {
        if x == n {
            m
        } else {
            (x as u128 * m as u128 / n as u128) as usize
        }
    };
    at(r.start)..at(r.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_everything_once() {
        let n = 1_000_003;
        let parts = chunked(n, |r| (r.start, r.end));
        assert_eq!(parts.first().unwrap().0, 0);
        assert_eq!(parts.last().unwrap().1, n);
        for w in parts.windows(2) {
            assert_eq!(w[0].1, w[1].0);
        }
        let m = 17;
        let shares: Vec<_> = parts.iter().map(|&(a, b)| share(m, n, &(a..b))).collect();
        assert_eq!(shares.iter().map(|r| r.len()).sum::<usize>(), m);
        assert_eq!(share(5, 0, &(0..0)), 0..5);
    }
}
