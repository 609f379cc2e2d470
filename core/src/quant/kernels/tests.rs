use super::*;
use crate::quant::{PackedMatrix, QuantScheme};
use rand::{RngExt, SeedableRng};

fn random(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-scale..scale)).collect()
}

fn reference(w: &[f32], x: &[f32], rows: usize, cols: usize, tokens: usize) -> Vec<f32> {
    let mut out = vec![0f32; tokens * rows];
    for t in 0..tokens {
        for r in 0..rows {
            out[t * rows + r] = (0..cols)
                .map(|c| w[r * cols + c] as f64 * x[t * cols + c] as f64)
                .sum::<f64>() as f32;
        }
    }
    out
}

#[test]
fn packed_matmul_matches_dequantized_weights_for_every_scheme() {
    let (rows, cols) = (100, 576);
    let w = random(rows * cols, 1, 0.05);
    for name in self_check::SCHEMES {
        let scheme = QuantScheme::parse(name).unwrap();
        let p = PackedMatrix::quantize("w", &w, rows, cols, scheme).unwrap();
        let dq = p.dequantize();
        for tokens in [1, 3] {
            let x = random(tokens * cols, 7 + tokens as u64, 2.0);
            let acts: Vec<ActivationQ8> = x.chunks(cols).map(ActivationQ8::quantize).collect();
            let mut out = vec![0f32; tokens * rows];
            packed_matmul(&p, &acts, &mut out);
            let want = reference(&dq, &x, rows, cols, tokens);
            let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (i, (a, b)) in out.iter().zip(&want).enumerate() {
                // int8 activations cost about 1% of the largest output.
                assert!(
                    (a - b).abs() < 0.02 * scale,
                    "{name} t={tokens} [{i}]: {a} vs {b}"
                );
            }
        }
    }
}

#[test]
fn simd_and_portable_kernels_agree_bit_for_bit() {
    let (rows, cols) = (8, 1536);
    let w = random(rows * cols, 3, 0.05);
    let x = random(cols, 4, 1.0);
    let a = ActivationQ8::quantize(&x);
    for name in ["q4g32-sym", "q4g128-sym", "q4g32", "q4g64", "q8g32"] {
        let p =
            PackedMatrix::quantize("w", &w, rows, cols, QuantScheme::parse(name).unwrap()).unwrap();
        let int4 = name.starts_with("q4");
        let mut fast = vec![0f32; rows];
        packed_matmul(&p, std::slice::from_ref(&a), &mut fast);
        // Also through the token-tiled path: 5 identical tokens must give 5 equal columns.
        let five = vec![a.clone(); 5];
        let mut tiled = vec![0f32; rows * 5];
        packed_matmul(&p, &five, &mut tiled);
        let mut buffers = RowBuffers::new(&p);
        for (r, &f) in fast.iter().enumerate() {
            for t in 0..5 {
                let tile = tiled[t * rows + r];
                assert!(
                    tile.to_bits() == f.to_bits()
                        || (cfg!(target_arch = "aarch64")
                            && (tile - f).abs() <= 1e-5 * (1.0 + f.abs())),
                    "{name} tile"
                );
            }
            let k = buffers.kernel(&p, r);
            let slow = if int4 {
                portable::dot_q4(&k, &a)
            } else {
                portable::dot_q8(&k, &a)
            };
            // Bit for bit on x86-64: the portable kernel (the browser's CPU path) repeats
            // the AVX2 kernel's float operations in the same order. NEON keeps its own.
            if cfg!(target_arch = "aarch64") {
                assert!(
                    (f - slow).abs() <= 1e-4 * (1.0 + slow.abs()),
                    "{name} row {r}"
                );
            } else {
                assert_eq!(f.to_bits(), slow.to_bits(), "{name} row {r}: {f} vs {slow}");
            }
        }
    }
    eprintln!("kernel ISA: {}", kernel_isa());
}

#[test]
fn the_self_check_finds_every_kernel_result_equal_to_the_portable_one() {
    let check = check_against_portable();
    // 9 schemes x 2 scale storages x (1 + 4 + 7 + 21) tokens x 24 rows.
    assert_eq!(check.products, 9 * 2 * 4);
    assert_eq!(check.values, 9 * 2 * 33 * 24);
    assert_eq!(check.mismatch_count, 0, "{:?}", check.mismatches);
}

#[test]
fn dense_matmul_matches_reference() {
    let (rows, cols, tokens) = (37, 100, 3);
    let w = random(rows * cols, 5, 1.0);
    let x = random(tokens * cols, 6, 1.0);
    let m = DenseMatrix {
        rows,
        cols,
        data: w.clone(),
    };
    let mut out = vec![0f32; tokens * rows];
    dense_matmul(&m, &x, tokens, &mut out);
    for (a, b) in out.iter().zip(reference(&w, &x, rows, cols, tokens)) {
        assert!((a - b).abs() < 1e-4, "{a} vs {b}");
    }
}

/// Kernel throughput on a head-sized matrix (run with `--ignored --nocapture`).
#[test]
#[ignore]
fn kernel_throughput() {
    let (rows, cols) = (49152, 576);
    let w = random(rows * cols, 9, 0.05);
    let x = random(cols, 10, 1.0);
    let a = ActivationQ8::quantize(&x);
    for name in ["q4g32-sym", "q4g32", "q8g32"] {
        let p =
            PackedMatrix::quantize("w", &w, rows, cols, QuantScheme::parse(name).unwrap()).unwrap();
        let mut out = vec![0f32; rows];
        for tokens in [1usize, 16] {
            let acts = vec![a.clone(); tokens];
            let mut out_t = vec![0f32; rows * tokens];
            let start = std::time::Instant::now();
            let reps = if tokens == 1 { 50 } else { 5 };
            for _ in 0..reps {
                if tokens == 1 {
                    packed_matmul(&p, std::slice::from_ref(&a), &mut out);
                } else {
                    packed_matmul(&p, &acts, &mut out_t);
                }
            }
            let secs = start.elapsed().as_secs_f64() / reps as f64;
            let blocks = (rows * cols / 32 * tokens) as f64;
            eprintln!(
                "{name} tokens={tokens}: {:.2} ms, {:.2} GB/s weights, {:.2} ns per block-dot",
                secs * 1e3,
                p.storage_bytes() as f64 / secs / 1e9,
                secs * 1e9 / blocks
            );
        }
    }
}
