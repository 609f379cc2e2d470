// Index of the largest logit of one row; ties go to the lowest index (sampling::argmax).
struct Params {
    n: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> logits: array<f32>;
@group(0) @binding(3) var<storage, read_write> result: array<u32>;

const NONE: u32 = 0xFFFFFFFFu;

var<workgroup> best_value: array<f32, 256>;
var<workgroup> best_index: array<u32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    var v = 0.0;
    var idx = NONE;
    for (var i = lid; i < p.n; i += 256u) {
        let x = logits[i];
        // Each invocation sees its indices in increasing order, so `>` keeps the lowest.
        if (idx == NONE || x > v) {
            if (!(x != x)) {
                v = x;
                idx = i;
            }
        }
    }
    best_value[lid] = v;
    best_index[lid] = idx;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride >>= 1u) {
        if (lid < stride) {
            let ov = best_value[lid + stride];
            let oi = best_index[lid + stride];
            let mi = best_index[lid];
            let take = oi != NONE && (mi == NONE || ov > best_value[lid]
                || (ov == best_value[lid] && oi < mi));
            if (take) {
                best_value[lid] = ov;
                best_index[lid] = oi;
            }
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        result[0] = select(best_index[0], 0u, best_index[0] == NONE);
    }
}
