// int8 weights against int8 activation blocks, in exactly the floating-point steps of
// quant::kernels (portable::dot_q8): lane j of eight sums (word j of each block's eight
// against its codes)·(scale·d) block by block, then lane_sum's halving tree. LANES and
// TILE as in matmul_q4.
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
// 1 or 8 (see matmul_q4); the other invocations of the 64 take other rows.
override LANES: u32 = 8u;
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

fn store(o: u32, v: f32) {
    if (p.accumulate != 0u) {
        y[o] = y[o] + v;
    } else {
        y[o] = v;
    }
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
    let stride = p.cols / 4u;
    if (LANES == 1u) {
        // Not an early return for rows past the end: barriers below must stay uniform.
        if (row < p.rows) {
            var lo: array<vec4<f32>, MAXT>;
            var hi: array<vec4<f32>, MAXT>;
            for (var b = 0u; b < blocks; b++) {
                let w0 = q[(row * blocks + b) * 2u];
                let w1 = q[(row * blocks + b) * 2u + 1u];
                let s = scale_at(row * p.scale_stride + b * 32u / p.group);
                for (var i = 0u; i < TILE; i++) {
                    if (i < nt) {
                        let t = t0 + i;
                        let cb = t * stride + b * 8u;
                        let scale = keep(s * dsum[t * blocks + b].x);
                        let l0 = vec4<f32>(vec4<i32>(dot_bytes(w0.x, codes[cb]),
                            dot_bytes(w0.y, codes[cb + 1u]), dot_bytes(w0.z, codes[cb + 2u]),
                            dot_bytes(w0.w, codes[cb + 3u])));
                        let l1 = vec4<f32>(vec4<i32>(dot_bytes(w1.x, codes[cb + 4u]),
                            dot_bytes(w1.y, codes[cb + 5u]), dot_bytes(w1.z, codes[cb + 6u]),
                            dot_bytes(w1.w, codes[cb + 7u])));
                        lo[i] = keep4(lo[i] + keep4(l0 * scale));
                        hi[i] = keep4(hi[i] + keep4(l1 * scale));
                    }
                }
            }
            for (var i = 0u; i < nt; i++) {
                store((t0 + i) * p.out_stride + p.out_offset + row, lane_sum(lo[i], hi[i]));
            }
        }
        return;
    }
    // LANES == 8: this invocation's lane sum is word `lane` of each block.
    var acc: array<f32, MAXT>;
    if (row < p.rows) {
        for (var b = 0u; b < blocks; b++) {
            let w = q[(row * blocks + b) * 2u + lane / 4u][lane % 4u];
            let s = scale_at(row * p.scale_stride + b * 32u / p.group);
            for (var i = 0u; i < TILE; i++) {
                if (i < nt) {
                    let t = t0 + i;
                    let scale = keep(s * dsum[t * blocks + b].x);
                    let v = f32(dot_bytes(w, codes[t * stride + b * 8u + lane]));
                    acc[i] = keep(acc[i] + keep(v * scale));
                }
            }
        }
    }
    for (var i = 0u; i < TILE; i++) {
        red[i * 64u + lid] = acc[i];
    }
    workgroupBarrier();
    // lane_sum: lanes l += l + 4, then l += l + 2, then l += l + 1.
    for (var half = 4u; half > 0u; half >>= 1u) {
        if (lane < half) {
            for (var i = 0u; i < TILE; i++) {
                red[i * 64u + lid] = keep(red[i * 64u + lid] + red[i * 64u + lid + half]);
            }
        }
        workgroupBarrier();
    }
    if (lane == 0u && row < p.rows) {
        for (var i = 0u; i < nt; i++) {
            store((t0 + i) * p.out_stride + p.out_offset + row, red[i * 64u + lid]);
        }
    }
}
