// Dense f32 weights against f32 activations (f32/f16 exports): plain dot products.
struct Params {
    rows: u32,
    cols: u32,
    group: u32,
    scale_stride: u32,
    scale_f16: u32,
    asym: u32,
    out_stride: u32,
    out_offset: u32,
    accumulate: u32,
    use_head: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

override TILE: u32 = 1u;
const MAXT: u32 = 8u;
// Invocations per row (a power of two dividing 64); the rest of the 64 take other rows.
override LANES: u32 = 16u;
override ROWS: u32 = 64u / LANES;

var<workgroup> red: array<f32, 512>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let tokens = select(call.seq, call.head_rows, p.use_head != 0u);
    let t0 = wid.z * TILE;
    let nt = min(TILE, tokens - t0);
    let row = linear_group(vec3<u32>(wid.x, wid.y, 0u), nwg) * ROWS + lid / LANES;
    let lane = lid % LANES;
    var acc: array<f32, MAXT>;
    if (row < p.rows) {
        for (var c = lane; c < p.cols; c += LANES) {
            let wv = w[row * p.cols + c];
            for (var i = 0u; i < TILE; i++) {
                if (i < nt) {
                    acc[i] = acc[i] + wv * x[(t0 + i) * p.cols + c];
                }
            }
        }
    }
    for (var i = 0u; i < TILE; i++) {
        red[i * 64u + lid] = acc[i];
    }
    workgroupBarrier();
    for (var stride = LANES / 2u; stride > 0u; stride >>= 1u) {
        if (lane < stride) {
            for (var i = 0u; i < TILE; i++) {
                red[i * 64u + lid] += red[i * 64u + lid + stride];
            }
        }
        workgroupBarrier();
    }
    if (lane == 0u && row < p.rows) {
        for (var i = 0u; i < nt; i++) {
            let o = (t0 + i) * p.out_stride + p.out_offset + row;
            let v = red[i * 64u + lid];
            if (p.accumulate != 0u) {
                y[o] = y[o] + v;
            } else {
                y[o] = v;
            }
        }
    }
}
