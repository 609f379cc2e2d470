use super::*;
use rand::{RngExt, SeedableRng};

fn random_matrix(rows: usize, cols: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    // Roughly normal values with a few outliers, as trained weights have.
    (0..rows * cols)
        .map(|i| {
            let v: f32 = (0..4).map(|_| rng.random_range(-1.0f32..1.0)).sum::<f32>() * 0.02;
            if i % 97 == 0 {
                v * 6.0
            } else {
                v
            }
        })
        .collect()
}

fn rms_error(a: &[f32], b: &[f32]) -> f32 {
    let sum: f32 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    (sum / a.len() as f32).sqrt()
}

#[test]
fn every_scheme_round_trips_within_its_step_size() {
    let (rows, cols) = (16, 576);
    let w = random_matrix(rows, cols, 1);
    let rms: f32 = (w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32).sqrt();
    for (name, bound) in [
        ("q4g32-sym", 0.12),
        ("q4g64-sym", 0.14),
        ("q4g128-sym", 0.19),
        ("q4g32", 0.12),
        ("q4g64", 0.14),
        ("q4g128", 0.19),
        ("q4g32-f32", 0.12),
        ("q4g32-sym-f32", 0.12),
        ("q4_0", 0.14),
        ("q8g32", 0.01),
    ] {
        let scheme = QuantScheme::parse(name).unwrap();
        let packed = PackedMatrix::quantize("w", &w, rows, cols, scheme).unwrap();
        let back = packed.dequantize();
        let rel = rms_error(&w, &back) / rms;
        assert!(rel < bound, "{name}: relative rms error {rel}");
        let bytes = packed.storage_bytes() as f64 * 8.0 / (rows * cols) as f64;
        // g128 on 576 columns has a short last group, so it stores slightly more.
        assert!(
            bytes <= scheme.bits_per_weight() + 0.05,
            "{name}: {bytes} bits"
        );
    }
}

#[test]
fn searched_scales_beat_the_q4_0_rule() {
    let (rows, cols) = (64, 576);
    let w = random_matrix(rows, cols, 2);
    let err = |name: &str| {
        let p =
            PackedMatrix::quantize("w", &w, rows, cols, QuantScheme::parse(name).unwrap()).unwrap();
        rms_error(&w, &p.dequantize())
    };
    let (search, ggml) = (err("q4g32-sym"), err("q4_0"));
    assert!(search < ggml * 0.97, "search {search} vs q4_0 {ggml}");
}

#[test]
fn q4_0_rule_matches_ggml_blocks() {
    // Encode ggml Q4_0 blocks by hand from our codes and decode them with the ggml reader.
    let w = random_matrix(2, 64, 3);
    let p = PackedMatrix::quantize("w", &w, 2, 64, QuantScheme::parse("q4_0").unwrap()).unwrap();
    let GroupValues::F16(scales) = p.scales() else {
        panic!("q4_0 uses f16 scales")
    };
    let mut blocks = Vec::new();
    for (b, scale) in scales.iter().enumerate() {
        blocks.extend_from_slice(&scale.to_le_bytes());
        let words = &p.q()[b * 4..b * 4 + 4];
        let nib = |e: usize| ((words[e / 8] >> (4 * (e % 8))) & 0xF) as u8;
        for j in 0..16 {
            blocks.push(nib(j) | (nib(j + 16) << 4));
        }
    }
    let mut ggml = vec![0f32; 128];
    crate::quant::ggml::dequantize(crate::format::gguf::GgmlType::Q4_0, &blocks, &mut ggml)
        .unwrap();
    assert_eq!(ggml, p.dequantize());
}

#[test]
fn bad_shapes_and_values_name_the_tensor() {
    let s = QuantScheme::DEFAULT;
    let e = PackedMatrix::quantize("blk.0.ffn_up.weight", &[0.0; 40], 2, 20, s).unwrap_err();
    assert!(e.to_string().contains("blk.0.ffn_up.weight"), "{e}");
    let mut w = vec![0.0; 64];
    w[5] = f32::NAN;
    let e = PackedMatrix::quantize("x", &w, 2, 32, s).unwrap_err();
    assert!(e.to_string().contains("not finite"), "{e}");
}

#[test]
fn int8_codes_stay_within_plus_minus_127_and_a_stored_minus_128_is_refused() {
    let (rows, cols) = (8, 64);
    // Extremes of both signs in every row: the quantizer must still round into -127..=127.
    let mut w = random_matrix(rows, cols, 9);
    for r in 0..rows {
        w[r * cols] = 1.0;
        w[r * cols + 1] = -1.0;
    }
    let m =
        PackedMatrix::quantize("w", &w, rows, cols, QuantScheme::parse("q8g32").unwrap()).unwrap();
    let bytes: Vec<u8> = m.q().iter().flat_map(|w| w.to_le_bytes()).collect();
    assert!(
        bytes.contains(&0x81) && bytes.contains(&0x7f),
        "±127 are used"
    );
    assert!(!bytes.contains(&0x80), "-128 is never produced");
    let mut q = m.q().to_vec();
    q[5] = (q[5] & !0xff) | 0x80;
    let parts = PackedParts {
        scheme: m.scheme(),
        rows,
        cols,
        q,
        scales: m.scales().clone(),
        mins: None,
    };
    let err = PackedMatrix::from_parts("model.embed_tokens.weight", parts)
        .expect_err("a stored -128 is refused")
        .to_string();
    assert!(
        err.contains("model.embed_tokens.weight") && err.contains("-128"),
        "{err}"
    );
}
