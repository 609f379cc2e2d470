// y[t][row] (+)= Σ_c w[row][c]·x_t[c] for int4 weights against int8 activation blocks, in
// exactly the floating-point steps of quant::kernels (portable::dot_q4): eight lane sums,
// lane j < 4 over the even nibbles of word j of every block and lane 4 + j over its odd
// ones, each adding (integer dot)·(scale·d) block by block; the offset Σ min·dsum in block
// order (min = −8·scale without minimums); then lane_sum's halving tree, plus the offset.
// LANES is 1 (one invocation keeps all eight lane sums: CPU adapters, where barriers cost
// most) or 8 (one lane sum each, folded through workgroup memory); TILE tokens share each
// weight read.
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
@group(0) @binding(6) var<storage, read> mins: array<u32>;
@group(0) @binding(7) var<storage, read_write> y: array<f32>;

override TILE: u32 = 1u;
const MAXT: u32 = 8u;
// 1 or 8 (see above); the other invocations of the 64 take other rows.
override LANES: u32 = 8u;
override ROWS: u32 = 64u / LANES;

var<workgroup> red: array<f32, 512>;

fn scale_at(i: u32) -> f32 {
    if (p.scale_f16 != 0u) {
        return unpack2x16float(scales[i >> 1u])[i & 1u];
    }
    return bitcast<f32>(scales[i]);
}

fn min_at(i: u32) -> f32 {
    if (p.scale_f16 != 0u) {
        return unpack2x16float(mins[i >> 1u])[i & 1u];
    }
    return bitcast<f32>(mins[i]);
}

fn code(c: u32, n: u32) -> i32 {
    return bitcast<i32>(c << (24u - 8u * n)) >> 24u;
}

fn nibble(w: u32, n: u32) -> i32 {
    return i32((w >> (4u * n)) & 15u);
}

// The two lane sums of one block word w (elements 8j..8j+7 of the block, whose int8 codes
// are c0 and c1): .x over its even nibbles, .y over its odd ones.
fn word_dot(w: u32, c0: u32, c1: u32) -> vec2<i32> {
    let even = nibble(w, 0u) * code(c0, 0u) + nibble(w, 2u) * code(c0, 2u)
        + nibble(w, 4u) * code(c1, 0u) + nibble(w, 6u) * code(c1, 2u);
    let odd = nibble(w, 1u) * code(c0, 1u) + nibble(w, 3u) * code(c0, 3u)
        + nibble(w, 5u) * code(c1, 1u) + nibble(w, 7u) * code(c1, 3u);
    return vec2<i32>(even, odd);
}

// The group scale and the offset's minimum of block b of row.
fn scale_min(row: u32, b: u32) -> vec2<f32> {
    let si = row * p.scale_stride + b * 32u / p.group;
    let s = scale_at(si);
    if (p.asym != 0u) {
        return vec2<f32>(s, min_at(si));
    }
    return vec2<f32>(s, -8.0 * s);
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
            var offset: array<f32, MAXT>;
            for (var b = 0u; b < blocks; b++) {
                let w = q[row * blocks + b];
                let sm = scale_min(row, b);
                for (var i = 0u; i < TILE; i++) {
                    if (i < nt) {
                        let t = t0 + i;
                        let cb = t * stride + b * 8u;
                        let a = dsum[t * blocks + b];
                        let scale = keep(sm.x * a.x);
                        let d0 = word_dot(w.x, codes[cb], codes[cb + 1u]);
                        let d1 = word_dot(w.y, codes[cb + 2u], codes[cb + 3u]);
                        let d2 = word_dot(w.z, codes[cb + 4u], codes[cb + 5u]);
                        let d3 = word_dot(w.w, codes[cb + 6u], codes[cb + 7u]);
                        let even = vec4<f32>(vec4<i32>(d0.x, d1.x, d2.x, d3.x));
                        let odd = vec4<f32>(vec4<i32>(d0.y, d1.y, d2.y, d3.y));
                        lo[i] = keep4(lo[i] + keep4(even * scale));
                        hi[i] = keep4(hi[i] + keep4(odd * scale));
                        offset[i] = keep(offset[i] + keep(sm.y * a.y));
                    }
                }
            }
            for (var i = 0u; i < nt; i++) {
                store((t0 + i) * p.out_stride + p.out_offset + row,
                    keep(lane_sum(lo[i], hi[i]) + offset[i]));
            }
        }
        return;
    }
    // LANES == 8: this invocation's lane sum is word (lane % 4) of each block, its even
    // nibbles for lanes 0..3 and its odd ones for lanes 4..7; lane 0 also sums the offset.
    let j = lane % 4u;
    var acc: array<f32, MAXT>;
    var offset: array<f32, MAXT>;
    if (row < p.rows) {
        for (var b = 0u; b < blocks; b++) {
            let w = q[row * blocks + b][j];
            let sm = scale_min(row, b);
            for (var i = 0u; i < TILE; i++) {
                if (i < nt) {
                    let t = t0 + i;
                    let cb = t * stride + b * 8u + 2u * j;
                    let a = dsum[t * blocks + b];
                    let scale = keep(sm.x * a.x);
                    let d = word_dot(w, codes[cb], codes[cb + 1u]);
                    let v = f32(select(d.x, d.y, lane >= 4u));
                    acc[i] = keep(acc[i] + keep(v * scale));
                    if (lane == 0u) {
                        offset[i] = keep(offset[i] + keep(sm.y * a.y));
                    }
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
            store((t0 + i) * p.out_stride + p.out_offset + row,
                keep(red[i * 64u + lid] + offset[i]));
        }
    }
}
