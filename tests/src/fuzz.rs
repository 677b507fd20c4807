//! A small fuzzer that runs on stable Rust as ordinary tests: every entry of
//! a seed corpus, then a fixed budget of inputs made by mutating them, each
//! checked for panics and against a memory and a time limit.
//!
//! Deterministic: a failure names the target, the iteration and the seed,
//! and `GITAPPS_FUZZ_SEED=<seed>` replays the run; `GITAPPS_FUZZ_DUMP=DIR`
//! keeps the failing input in a file. Longer runs:
//! `GITAPPS_FUZZ_ITERATIONS=100000 cargo test --release -p gitapps-tests --test fuzz`
//! (see BENCHMARKS.md). No dependency: the generator is xorshift, the
//! mutations are the usual ones (bit flips, byte changes, insertions and
//! deletions, duplicated and spliced chunks, dictionary tokens, truncation).
//!
//! Memory is counted by [`CountingAlloc`], which the fuzz test binary
//! installs as its global allocator; counts are per thread, so targets
//! running side by side do not see each other's allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::{Duration, Instant};

/// xorshift64*: reproducible from its seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// One to eight mutations of `input`, drawing on `corpus` (for splices) and
/// `dictionary` (tokens that mean something to the target).
pub fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>], dictionary: &[&[u8]]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(8) {
        let len = out.len();
        let at = rng.below(len + 1);
        match rng.below(10) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                out[i] = *rng.pick(&[0, 0xff, 0x7f, 0x80, b'\n', b' ', b'-', b'=', b'\r']);
            }
            2 => {
                let n = rng.below(16) + 1;
                let noise = rng.bytes(n);
                out.splice(at..at, noise);
            }
            3 if len > 0 => {
                let end = (at + rng.below(64) + 1).min(len);
                out.drain(at.min(end)..end);
            }
            4 if len > 0 => {
                // Duplicate a chunk, sometimes many times.
                let start = rng.below(len);
                let end = (start + rng.below(256) + 1).min(len);
                let chunk = out[start..end].to_vec();
                let times = if rng.chance(8) { rng.below(200) + 1 } else { 1 };
                let repeated = chunk.repeat(times);
                out.splice(at..at, repeated);
            }
            5 if !corpus.is_empty() => {
                let other = rng.pick(corpus);
                if !other.is_empty() {
                    let start = rng.below(other.len());
                    let end = (start + rng.below(512) + 1).min(other.len());
                    out.splice(at..at, other[start..end].iter().copied());
                }
            }
            6 if !dictionary.is_empty() => {
                let token = *rng.pick(dictionary);
                out.splice(at..at, token.iter().copied());
            }
            7 if !dictionary.is_empty() && len > 0 => {
                // Replace a stretch with a token.
                let token = *rng.pick(dictionary);
                let end = (at + token.len()).min(len);
                out.splice(at.min(end)..end, token.iter().copied());
            }
            8 if len > 0 => out.truncate(rng.below(len)),
            _ => {
                let n = rng.below(4) + 1;
                let noise = rng.bytes(n);
                out.extend(noise);
            }
        }
    }
    out
}

/// The time tripwire for one input: generous, since tests run side by side
/// (and, without `--release`, unoptimized); what it catches takes seconds
/// to minutes (a decompression bomb, a quadratic parse).
pub const TRIPWIRE: Duration = if cfg!(debug_assertions) {
    Duration::from_secs(10)
} else {
    Duration::from_secs(2)
};

/// What one input may cost the code under test.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// The most bytes allocated at once on top of what was allocated
    /// before the input ran (the input itself is not counted).
    pub peak_bytes: usize,
    /// A tripwire, not a benchmark: tests run unoptimized and side by
    /// side, so this catches what takes seconds (a decompression bomb, a
    /// quadratic parse), not milliseconds. Release figures are in
    /// BENCHMARKS.md.
    pub time: Duration,
}

/// How many generated inputs a target gets after its corpus:
/// `GITAPPS_FUZZ_ITERATIONS`, else `default`.
pub fn iterations(default: usize) -> usize {
    std::env::var("GITAPPS_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The run's seed: `GITAPPS_FUZZ_SEED`, else a fixed one.
pub fn seed() -> u64 {
    std::env::var("GITAPPS_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x9E37_79B9_7F4A_7C15)
}

/// What [`run`] saw: the worst input's cost.
#[derive(Clone, Copy, Debug, Default)]
pub struct Report {
    pub inputs: usize,
    pub max_peak_bytes: usize,
    pub max_time: Duration,
}

/// Run `check` on every corpus entry, then on `generated` mutations of
/// them; panic (naming the input) on a panic in `check` or when an input
/// goes over `bounds`.
pub fn run(
    target: &str,
    corpus: &[Vec<u8>],
    dictionary: &[&[u8]],
    generated: usize,
    bounds: Bounds,
    check: impl Fn(&[u8]),
) -> Report {
    let seed = seed();
    let mut rng = Rng::new(seed ^ fnv(target.as_bytes()));
    let mut report = Report::default();
    let mut one = |what: &dyn Fn() -> String, input: &[u8]| {
        let base = reset_peak();
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(input)));
        let time = started.elapsed();
        let peak = peak_since(base);
        if outcome.is_err() || peak > bounds.peak_bytes || time > bounds.time {
            dump(target, &what(), input);
        }
        if outcome.is_err() {
            panic!(
                "{target}: {} panicked (GITAPPS_FUZZ_SEED={seed}); input {}",
                what(),
                preview(input)
            );
        }
        assert!(
            peak <= bounds.peak_bytes,
            "{target}: {} allocated {peak} bytes at its peak, over {} (GITAPPS_FUZZ_SEED={seed}); input {}",
            what(),
            bounds.peak_bytes,
            preview(input)
        );
        assert!(
            time <= bounds.time,
            "{target}: {} took {time:?}, over {:?} (GITAPPS_FUZZ_SEED={seed}); input {}",
            what(),
            bounds.time,
            preview(input)
        );
        report.inputs += 1;
        report.max_peak_bytes = report.max_peak_bytes.max(peak);
        report.max_time = report.max_time.max(time);
    };
    for (i, input) in corpus.iter().enumerate() {
        one(&|| format!("corpus entry {i}"), input);
    }
    for i in 0..generated {
        let base = rng.pick(corpus).clone();
        let input = mutate(&mut rng, &base, corpus, dictionary);
        one(&|| format!("generated input {i}"), &input);
    }
    eprintln!(
        "{target}: {} inputs, worst peak {} KiB, worst time {:?}",
        report.inputs,
        report.max_peak_bytes >> 10,
        report.max_time
    );
    report
}

/// With `GITAPPS_FUZZ_DUMP=DIR`, keep a failing input as
/// `DIR/<target> <what>.bin`, to replay it.
fn dump(target: &str, what: &str, input: &[u8]) {
    if let Some(dir) = std::env::var_os("GITAPPS_FUZZ_DUMP") {
        let path = std::path::Path::new(&dir).join(format!("{target} {what}.bin"));
        match std::fs::write(&path, input) {
            Ok(()) => eprintln!("{target}: the input is in {}", path.display()),
            Err(e) => eprintln!("{target}: cannot write {}: {e}", path.display()),
        }
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn preview(input: &[u8]) -> String {
    let shown = &input[..input.len().min(200)];
    format!(
        "({} bytes) {:?}…",
        input.len(),
        String::from_utf8_lossy(shown)
    )
}

thread_local! {
    static CURRENT: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

/// The system allocator, counting the bytes each thread has allocated and
/// the most it had at once. Install it with
/// `#[global_allocator] static A: CountingAlloc = CountingAlloc;`.
pub struct CountingAlloc;

fn count_alloc(size: usize) {
    let _ = CURRENT.try_with(|c| {
        let now = c.get().saturating_add(size);
        c.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

fn count_free(size: usize) {
    let _ = CURRENT.try_with(|c| c.set(c.get().saturating_sub(size)));
}

// SAFETY: every call is passed on to the system allocator unchanged; the
// counting touches only `const`-initialised thread-locals, which never
// allocate.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_alloc(layout.size());
        // SAFETY: the caller's contract is System's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_alloc(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count_free(layout.size());
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_alloc(new_size);
        count_free(layout.size());
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Start a measurement on this thread: returns the bytes allocated now.
pub fn reset_peak() -> usize {
    let now = CURRENT.with(Cell::get);
    PEAK.with(|p| p.set(now));
    now
}

/// The most bytes this thread had allocated since [`reset_peak`] returned
/// `base`, above `base`.
pub fn peak_since(base: usize) -> usize {
    PEAK.with(Cell::get).saturating_sub(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_reproducible() {
        let corpus = vec![b"hello world".to_vec()];
        let a = mutate(&mut Rng::new(7), &corpus[0], &corpus, &[b"tok"]);
        let b = mutate(&mut Rng::new(7), &corpus[0], &corpus, &[b"tok"]);
        assert_eq!(a, b);
    }
}
