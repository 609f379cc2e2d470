//! ggml's original 32-element block formats.
//!
//! Each block holds an f16 scale `d` (and for the `_1` kinds a minimum `m`), then 32 packed
//! values: byte `j` carries element `j` in its low nibble and element `j + 16` in its high one.
//! The 5-bit kinds keep each element's fifth bit in a 32-bit mask `qh`.

use super::f16_at;

const QK: usize = 32;

/// Q4_0: `{d: f16, qs: [u8; 16]}`, value = (nibble - 8) * d.
pub(super) fn q4_0(bytes: &[u8], out: &mut [f32]) {
    for (b, y) in bytes.chunks_exact(18).zip(out.chunks_exact_mut(QK)) {
        let d = f16_at(b, 0);
        for j in 0..16 {
            let q = b[2 + j];
            y[j] = ((q & 0x0F) as i32 - 8) as f32 * d;
            y[j + 16] = ((q >> 4) as i32 - 8) as f32 * d;
        }
    }
}

/// Q4_1: `{d: f16, m: f16, qs: [u8; 16]}`, value = nibble * d + m.
pub(super) fn q4_1(bytes: &[u8], out: &mut [f32]) {
    for (b, y) in bytes.chunks_exact(20).zip(out.chunks_exact_mut(QK)) {
        let d = f16_at(b, 0);
        let m = f16_at(b, 2);
        for j in 0..16 {
            let q = b[4 + j];
            y[j] = (q & 0x0F) as f32 * d + m;
            y[j + 16] = (q >> 4) as f32 * d + m;
        }
    }
}

/// The fifth bits of elements `j` and `j + 16`, already shifted to bit 4.
fn high_bits(qh: u32, j: usize) -> (u8, u8) {
    (
        (((qh >> j) << 4) & 0x10) as u8,
        ((qh >> (j + 12)) & 0x10) as u8,
    )
}

/// Q5_0: `{d: f16, qh: u32, qs: [u8; 16]}`, value = (5-bit - 16) * d.
pub(super) fn q5_0(bytes: &[u8], out: &mut [f32]) {
    for (b, y) in bytes.chunks_exact(22).zip(out.chunks_exact_mut(QK)) {
        let d = f16_at(b, 0);
        let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
        for j in 0..16 {
            let q = b[6 + j];
            let (h0, h1) = high_bits(qh, j);
            y[j] = (((q & 0x0F) | h0) as i32 - 16) as f32 * d;
            y[j + 16] = (((q >> 4) | h1) as i32 - 16) as f32 * d;
        }
    }
}

/// Q5_1: `{d: f16, m: f16, qh: u32, qs: [u8; 16]}`, value = 5-bit * d + m.
pub(super) fn q5_1(bytes: &[u8], out: &mut [f32]) {
    for (b, y) in bytes.chunks_exact(24).zip(out.chunks_exact_mut(QK)) {
        let d = f16_at(b, 0);
        let m = f16_at(b, 2);
        let qh = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
        for j in 0..16 {
            let q = b[8 + j];
            let (h0, h1) = high_bits(qh, j);
            y[j] = ((q & 0x0F) | h0) as f32 * d + m;
            y[j + 16] = ((q >> 4) | h1) as f32 * d + m;
        }
    }
}

/// Q8_0: `{d: f16, qs: [i8; 32]}`, value = q * d.
pub(super) fn q8_0(bytes: &[u8], out: &mut [f32]) {
    for (b, y) in bytes.chunks_exact(34).zip(out.chunks_exact_mut(QK)) {
        let d = f16_at(b, 0);
        for (j, v) in y.iter_mut().enumerate() {
            *v = (b[2 + j] as i8) as f32 * d;
        }
    }
}
