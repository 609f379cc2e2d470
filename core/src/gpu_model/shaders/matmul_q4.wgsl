// y[t][row] (+)= Σ_c w[row][c]·x_t[c] for int4 weights against int8 activation blocks, the
// math of quant::kernels::portable::dot_q4: per block scale·d·Σ(q·x) plus min·dsum (or
// −8·scale·dsum without minimums). ROWS rows per workgroup, LANES invocations per row
// striding over 32-blocks (one vec4<u32> each); TILE tokens share each weight read.
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

fn min_at(i: u32) -> f32 {
    if (p.scale_f16 != 0u) {
        return unpack2x16float(mins[i >> 1u])[i & 1u];
    }
    return bitcast<f32>(mins[i]);
}

fn code(c: u32, n: u32) -> i32 {
    return bitcast<i32>(c << (24u - 8u * n)) >> 24u;
}

// Four nibbles (the low 16 bits of w) against four int8 codes.
fn dot_nibbles(w: u32, c: u32) -> i32 {
    var s = 0i;
    for (var n = 0u; n < 4u; n++) {
        s += i32((w >> (4u * n)) & 15u) * code(c, n);
    }
    return s;
}

fn block_dot(w: vec4<u32>, cb: u32) -> i32 {
    var isum = 0i;
    for (var j = 0u; j < 4u; j++) {
        isum += dot_nibbles(w[j], codes[cb + 2u * j])
            + dot_nibbles(w[j] >> 16u, codes[cb + 2u * j + 1u]);
    }
    return isum;
}

// Sums the LANES partial results of each row through workgroup memory; lane 0 has the row's.
fn reduce(lid: u32, lane: u32, slot: u32) {
    workgroupBarrier();
    for (var stride = LANES / 2u; stride > 0u; stride >>= 1u) {
        if (lane < stride) {
            red[slot * 64u + lid] += red[slot * 64u + lid + stride];
        }
        workgroupBarrier();
    }
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
    if (TILE == 1u) {
        // One token: a plain accumulator (a private array indexed at run time is slow
        // on some compilers).
        var acc = 0.0;
        if (row < p.rows) {
            for (var b = lane; b < blocks; b += LANES) {
                let g = b * 32u / p.group;
                let si = row * p.scale_stride + g;
                let s = scale_at(si);
                var m = -8.0 * s;
                if (p.asym != 0u) {
                    m = min_at(si);
                }
                let isum = block_dot(q[row * blocks + b], t0 * (p.cols / 4u) + b * 8u);
                let a = dsum[t0 * blocks + b];
                acc = acc + s * a.x * f32(isum);
                acc = acc + m * a.y;
            }
        }
        if (LANES > 1u) {
            red[lid] = acc;
            reduce(lid, lane, 0u);
            acc = red[lid];
        }
        if (lane == 0u && row < p.rows) {
            store(t0 * p.out_stride + p.out_offset + row, acc);
        }
        return;
    }
    var acc: array<f32, MAXT>;
    if (row < p.rows) {
        for (var b = lane; b < blocks; b += LANES) {
            let w = q[row * blocks + b];
            let g = b * 32u / p.group;
            let si = row * p.scale_stride + g;
            let s = scale_at(si);
            var m = -8.0 * s;
            if (p.asym != 0u) {
                m = min_at(si);
            }
            for (var i = 0u; i < TILE; i++) {
                if (i < nt) {
                    let t = t0 + i;
                    let isum = block_dot(w, t * (p.cols / 4u) + b * 8u);
                    let a = dsum[t * blocks + b];
                    acc[i] = acc[i] + s * a.x * f32(isum);
                    acc[i] = acc[i] + m * a.y;
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
            store((t0 + i) * p.out_stride + p.out_offset + row, red[i * 64u + lid]);
        }
    }
}
