//! A check any build can run on itself: the packed-matrix kernels this machine dispatches to
//! against the portable kernels, over every packed scheme and token counts that take each
//! path (one token, whole groups of four prompt tokens, groups of four plus a remainder, more
//! than one tile of sixteen).
//! The browser's builds have no Rust test harness, so the browser tests call this through
//! the wasm API (`cpuKernelCheck`) on both of them.

use super::{packed_matmul, portable, ActivationQ8, RowBuffers};
use crate::quant::{PackedMatrix, QuantScheme};
use rand::{RngExt, SeedableRng};

/// Every packed scheme's kernel path: symmetric and asymmetric int4, int8, f16 and f32
/// scales, and groups that do not divide a 576-wide row (128).
pub(super) const SCHEMES: [&str; 9] = [
    "q4g32-sym",
    "q4g64-sym",
    "q4g128-sym",
    "q4g32",
    "q4g128",
    "q4g32-f32",
    "q8g32",
    "q8g64",
    "q8g128",
];

/// What [`check_against_portable`] compared and where results differed.
#[derive(Debug, Clone, Default)]
pub struct KernelCheck {
    /// The kernel set that was checked ([`super::kernel_isa`]).
    pub isa: &'static str,
    /// Matrix products run (scheme × scale storage × token count).
    pub products: usize,
    /// Output values compared.
    pub values: usize,
    /// The first few differences, each naming the scheme, token count, token and row.
    pub mismatches: Vec<String>,
    /// How many values differed in all.
    pub mismatch_count: usize,
}

/// Runs [`packed_matmul`] and the portable kernels on the same random weights and distinct
/// random activations and compares every output bit for bit (within 1e-4 relative on
/// aarch64, whose NEON kernel sums in its own order).
pub fn check_against_portable() -> KernelCheck {
    let (rows, cols) = (24, 576);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let w: Vec<f32> = (0..rows * cols)
        .map(|_| rng.random_range(-0.05f32..0.05))
        .collect();
    let mut check = KernelCheck {
        isa: super::kernel_isa(),
        ..KernelCheck::default()
    };
    for name in SCHEMES {
        let scheme = QuantScheme::parse(name).expect("a known scheme name");
        let packed = PackedMatrix::quantize("w", &w, rows, cols, scheme).expect("valid shape");
        // As stored, and with the scales widened as the browser loads them.
        for (storage, p) in [
            ("stored", packed.clone()),
            ("f32", packed.with_f32_scales()),
        ] {
            for tokens in [1, 4, 7, 21] {
                let acts: Vec<ActivationQ8> = (0..tokens)
                    .map(|_| {
                        let x: Vec<f32> = (0..cols).map(|_| rng.random_range(-2f32..2.0)).collect();
                        ActivationQ8::quantize(&x)
                    })
                    .collect();
                let mut out = vec![0f32; tokens * rows];
                packed_matmul(&p, &acts, &mut out);
                check.products += 1;
                let mut buffers = RowBuffers::new(&p);
                for r in 0..rows {
                    let k = buffers.kernel(&p, r);
                    for (t, a) in acts.iter().enumerate() {
                        let want = if name.starts_with("q4") {
                            portable::dot_q4(&k, a)
                        } else {
                            portable::dot_q8(&k, a)
                        };
                        let got = out[t * rows + r];
                        check.values += 1;
                        let same = if cfg!(target_arch = "aarch64") {
                            (got - want).abs() <= 1e-4 * (1.0 + want.abs())
                        } else {
                            got.to_bits() == want.to_bits()
                        };
                        if !same {
                            check.mismatch_count += 1;
                            if check.mismatches.len() < 8 {
                                check.mismatches.push(format!(
                                    "{name} ({storage} scales), {tokens} tokens: token {t} row {r} gave {got}, portable {want}"
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    check
}
