//! Memory read bandwidth with 1 and 2 threads: the denominator-free half of the decode ceiling.
//!
//! Decoding one token reads every weight once, so a decoder cannot go faster than
//! (read bandwidth) / (bytes of weights per token). This measures the read bandwidth a program
//! on this machine can reach: a buffer far larger than the caches (1 GiB by default) is read
//! start to end, split evenly between the threads, several passes, thread counts interleaved
//! (1, 2, 1, 2, ...) so that background load hits both alike; the median pass and the best pass
//! are reported in GB/s (10^9 bytes).
//!
//!   membw [--mib 1024] [--passes 9] [--threads 1,2] [--json]

use std::hint::black_box;
use std::time::Instant;

/// Sums the words with 16 independent accumulators: no dependency chain limits the loads, and
/// with `-C target-cpu=native` the loop becomes 256-bit loads and adds (4 per 128 bytes), far
/// below what the memory can feed, so the time is the read time.
fn read_sum(data: &[u64]) -> u64 {
    let mut acc = [0u64; 16];
    let mut chunks = data.chunks_exact(16);
    for c in &mut chunks {
        for i in 0..16 {
            acc[i] = acc[i].wrapping_add(c[i]);
        }
    }
    let tail = chunks.remainder().iter().fold(0u64, |a, &b| a.wrapping_add(b));
    acc.iter().fold(tail, |a, &b| a.wrapping_add(b))
}

/// One pass over `data` with `threads` threads (each reads a contiguous part); seconds.
fn pass(data: &[u64], threads: usize) -> f64 {
    let part = data.len().div_ceil(threads);
    let t0 = Instant::now();
    let total = std::thread::scope(|s| {
        let handles: Vec<_> = data
            .chunks(part)
            .map(|c| s.spawn(move || read_sum(black_box(c))))
            .collect();
        handles.into_iter().fold(0u64, |a, h| a.wrapping_add(h.join().expect("reader thread")))
    });
    let secs = t0.elapsed().as_secs_f64();
    black_box(total);
    secs
}

fn median(xs: &[f64]) -> f64 {
    let mut s = xs.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = s.len();
    if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 }
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} needs a value")),
        None => default,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("membw [--mib 1024] [--passes 9] [--threads 1,2] [--json]");
        return;
    }
    let mib: usize = arg(&args, "--mib", 1024);
    let passes: usize = arg(&args, "--passes", 9);
    let threads: Vec<usize> = arg(&args, "--threads", "1,2".to_string())
        .split(',')
        .map(|t| t.trim().parse().expect("--threads: a comma-separated list of counts"))
        .collect();
    let json = args.iter().any(|a| a == "--json");

    // Written once so every page is really mapped (a fresh zeroed allocation would read the
    // kernel's shared zero page and measure the cache instead of memory).
    let words = mib * 1024 * 1024 / 8;
    let data: Vec<u64> = (0..words as u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).collect();
    let bytes = (words * 8) as f64;
    // One untimed pass per thread count warms the threads' stacks and the TLB.
    for &t in &threads {
        pass(&data, t);
    }
    let mut gbs: Vec<Vec<f64>> = vec![Vec::new(); threads.len()];
    for _ in 0..passes {
        for (k, &t) in threads.iter().enumerate() {
            gbs[k].push(bytes / pass(&data, t) / 1e9);
        }
    }
    if json {
        let per: serde_json::Map<String, serde_json::Value> = threads
            .iter()
            .zip(&gbs)
            .map(|(t, g)| {
                let best = g.iter().cloned().fold(f64::MIN, f64::max);
                (t.to_string(), serde_json::json!({ "median_gb_s": median(g), "best_gb_s": best, "passes_gb_s": g }))
            })
            .collect();
        println!("{}", serde_json::json!({ "buffer_mib": mib, "passes": passes, "threads": per }));
    } else {
        for (t, g) in threads.iter().zip(&gbs) {
            let best = g.iter().cloned().fold(f64::MIN, f64::max);
            println!("{t} thread(s): median {:.1} GB/s, best {:.1} GB/s ({passes} passes of {mib} MiB)", median(g), best);
        }
    }
}
