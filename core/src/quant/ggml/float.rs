//! Plain float storage: f32, f16 and bf16, little-endian.

/// Copies little-endian f32 values.
pub(super) fn f32_le(bytes: &[u8], out: &mut [f32]) {
    for (src, dst) in bytes.chunks_exact(4).zip(out.iter_mut()) {
        *dst = f32::from_le_bytes([src[0], src[1], src[2], src[3]]);
    }
}

/// Widens little-endian IEEE half floats.
pub(super) fn f16_le(bytes: &[u8], out: &mut [f32]) {
    for (src, dst) in bytes.chunks_exact(2).zip(out.iter_mut()) {
        *dst = half::f16::from_le_bytes([src[0], src[1]]).to_f32();
    }
}

/// Widens little-endian bfloat16 values.
pub(super) fn bf16_le(bytes: &[u8], out: &mut [f32]) {
    for (src, dst) in bytes.chunks_exact(2).zip(out.iter_mut()) {
        *dst = half::bf16::from_le_bytes([src[0], src[1]]).to_f32();
    }
}
