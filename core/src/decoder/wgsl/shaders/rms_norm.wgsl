// out = x · rsqrt(Σx² · (1/cols) + eps) · w, one workgroup per row, in the steps of
// cpu_model::ops::rms_norm (Σx² in shared_math::sum_strided's order).
// The final norm (use_head) reads rows from call.head_row0 and writes them from row 0.
// With `add` set (Gemma's sandwich norms) the normed row is added into out instead of
// replacing it: out is then x, the residual stream, and the input the sublayer's output,
// as cpu::ops::rms_norm_in_place followed by the CPU's residual add.
struct Params {
    cols: u32,
    weight_offset: u32,
    use_head: u32,
    eps: f32,
    inv_cols: f32,
    add: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> red: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let rows = select(call.seq, call.head_rows, p.use_head != 0u);
    let row = wid.x;
    if (row >= rows) {
        return;
    }
    let src = (row + select(0u, call.head_row0, p.use_head != 0u)) * p.cols;
    var sum = 0.0;
    for (var c = lid; c < p.cols; c += 64u) {
        let v = x[src + c];
        sum = keep(sum + keep(v * v));
    }
    red[lid] = sum;
    workgroupBarrier();
    for (var stride = 32u; stride > 0u; stride >>= 1u) {
        if (lid < stride) {
            red[lid] = keep(red[lid] + red[lid + stride]);
        }
        workgroupBarrier();
    }
    let inv = shared_rsqrt(keep(red[0] * p.inv_cols) + p.eps);
    for (var c = lid; c < p.cols; c += 64u) {
        let v = keep(keep(x[src + c] * inv) * weight[p.weight_offset + c]);
        if (p.add != 0u) {
            out[row * p.cols + c] = out[row * p.cols + c] + v;
        } else {
            out[row * p.cols + c] = v;
        }
    }
}
