// Prepended to every kernel: the per-call values written once per forward pass.
struct Call {
    // Tokens of this pass (rows of x).
    seq: u32,
    // Cache position of the first token.
    start: u32,
    // Rows the head (final norm, head product, argmax) works on.
    head_rows: u32,
    // First row of x the final norm reads.
    head_row0: u32,
    // Positions the key/value cache holds (the stride between kv heads).
    capacity: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> call: Call;

// Workgroups can exceed 65535 along x; the host then spreads them over y.
fn linear_group(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + wid.y * nwg.x;
}
