// int8 weights against int8 activation blocks: per block scale·d·Σ(q·x), as
// quant::kernels::portable::dot_q8. Same work split as matmul_q4 (a block is 8 words).
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
@group(0) @binding(2) var<storage, read> codes: array<u32>;
@group(0) @binding(3) var<storage, read> dsum: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read> q: array<vec4<u32>>;
@group(0) @binding(5) var<storage, read> scales: array<u32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

override TILE: u32 = 1u;
const MAXT: u32 = 8u;
// Invocations per row (a power of two dividing 64); the rest of the 64 take other rows.
override LANES: u32 = 16u;
override ROWS: u32 = 64u / LANES;

var<workgroup> red: array<f32, 512>;

fn scale_at(i: u32) -> f32 {
    if (p.scale_f16 != 0u) {
        return unpack2x16float(scales[i >> 1u])[i & 1u];
    }
    return bitcast<f32>(scales[i]);
}

fn byte(c: u32, n: u32) -> i32 {
    return bitcast<i32>(c << (24u - 8u * n)) >> 24u;
}

fn dot_bytes(w: u32, c: u32) -> i32 {
    return byte(w, 0u) * byte(c, 0u) + byte(w, 1u) * byte(c, 1u)
        + byte(w, 2u) * byte(c, 2u) + byte(w, 3u) * byte(c, 3u);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let tokens = select(call.seq, call.head_rows, p.use_head != 0u);
    let t0 = wid.z * TILE;
    let nt = min(TILE, tokens - t0);
    let row = linear_group(vec3<u32>(wid.x, wid.y, 0u), nwg) * ROWS + lid / LANES;
    let lane = lid % LANES;
    let blocks = p.cols / 32u;
    var acc: array<f32, MAXT>;
    if (row < p.rows) {
        for (var b = lane; b < blocks; b += LANES) {
            let w0 = q[(row * blocks + b) * 2u];
            let w1 = q[(row * blocks + b) * 2u + 1u];
            let s = scale_at(row * p.scale_stride + b * 32u / p.group);
            for (var i = 0u; i < TILE; i++) {
                if (i < nt) {
                    let t = t0 + i;
                    let cb = t * (p.cols / 4u) + b * 8u;
                    var isum = 0i;
                    for (var j = 0u; j < 4u; j++) {
                        isum += dot_bytes(w0[j], codes[cb + j]);
                        isum += dot_bytes(w1[j], codes[cb + 4u + j]);
                    }
                    acc[i] = acc[i] + s * dsum[t * blocks + b].x * f32(isum);
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
