//! ggml's k-quants: 256-element super-blocks of 8 (or 16) sub-blocks with their own scales.

use super::f16_at;

const QK_K: usize = 256;

/// The 6-bit scale and minimum of sub-block `j` from the 12 packed scale bytes of Q4_K/Q5_K.
fn scale_min(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// Q4_K: `{d: f16, dmin: f16, scales: [u8; 12], qs: [u8; 128]}`.
///
/// Each 64 elements share 32 bytes: low nibbles give the first 32, high nibbles the next 32,
/// each half with its own scale and minimum.
pub(super) fn q4_k(bytes: &[u8], out: &mut [f32]) {
    for (b, y) in bytes.chunks_exact(144).zip(out.chunks_exact_mut(QK_K)) {
        let d = f16_at(b, 0);
        let dmin = f16_at(b, 2);
        let scales = &b[4..16];
        let qs = &b[16..144];
        for chunk in 0..4 {
            let (sc1, m1) = scale_min(2 * chunk, scales);
            let (sc2, m2) = scale_min(2 * chunk + 1, scales);
            let (d1, min1) = (d * sc1 as f32, dmin * m1 as f32);
            let (d2, min2) = (d * sc2 as f32, dmin * m2 as f32);
            let q = &qs[32 * chunk..32 * chunk + 32];
            let y = &mut y[64 * chunk..64 * chunk + 64];
            for l in 0..32 {
                y[l] = d1 * (q[l] & 0x0F) as f32 - min1;
                y[l + 32] = d2 * (q[l] >> 4) as f32 - min2;
            }
        }
    }
}

/// Q5_K: `{d: f16, dmin: f16, scales: [u8; 12], qh: [u8; 32], qs: [u8; 128]}`.
///
/// Like Q4_K, with each element's fifth bit in `qh`: bit `2*chunk` for the low half of a
/// 64-element chunk and bit `2*chunk + 1` for the high half.
pub(super) fn q5_k(bytes: &[u8], out: &mut [f32]) {
    for (b, y) in bytes.chunks_exact(176).zip(out.chunks_exact_mut(QK_K)) {
        let d = f16_at(b, 0);
        let dmin = f16_at(b, 2);
        let scales = &b[4..16];
        let qh = &b[16..48];
        let qs = &b[48..176];
        for chunk in 0..4 {
            let (sc1, m1) = scale_min(2 * chunk, scales);
            let (sc2, m2) = scale_min(2 * chunk + 1, scales);
            let (d1, min1) = (d * sc1 as f32, dmin * m1 as f32);
            let (d2, min2) = (d * sc2 as f32, dmin * m2 as f32);
            let (u1, u2) = (1u8 << (2 * chunk), 2u8 << (2 * chunk));
            let q = &qs[32 * chunk..32 * chunk + 32];
            let y = &mut y[64 * chunk..64 * chunk + 64];
            for l in 0..32 {
                let h1 = if qh[l] & u1 != 0 { 16 } else { 0 };
                let h2 = if qh[l] & u2 != 0 { 16 } else { 0 };
                y[l] = d1 * ((q[l] & 0x0F) + h1) as f32 - min1;
                y[l + 32] = d2 * ((q[l] >> 4) + h2) as f32 - min2;
            }
        }
    }
}

/// Q6_K: `{ql: [u8; 128], qh: [u8; 64], scales: [i8; 16], d: f16}`.
///
/// Each 128 elements use 64 `ql` bytes (low 4 bits) and 32 `qh` bytes (2 high bits each for
/// four elements); values are offset by 32 and scaled per 16 elements.
pub(super) fn q6_k(bytes: &[u8], out: &mut [f32]) {
    for (b, y) in bytes.chunks_exact(210).zip(out.chunks_exact_mut(QK_K)) {
        let d = f16_at(b, 208);
        for half in 0..2 {
            let ql = &b[64 * half..64 * half + 64];
            let qh = &b[128 + 32 * half..128 + 32 * half + 32];
            let sc = &b[192 + 8 * half..192 + 8 * half + 8];
            let y = &mut y[128 * half..128 * half + 128];
            for l in 0..32 {
                let is = l / 16;
                let q1 = ((ql[l] & 0x0F) | ((qh[l] & 3) << 4)) as i32 - 32;
                let q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
                let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
                let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
                let scale = |k: usize| d * (sc[is + k] as i8) as f32;
                y[l] = scale(0) * q1 as f32;
                y[l + 32] = scale(2) * q2 as f32;
                y[l + 64] = scale(4) * q3 as f32;
                y[l + 96] = scale(6) * q4 as f32;
            }
        }
    }
}
