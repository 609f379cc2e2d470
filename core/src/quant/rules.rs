//! How one group of weights becomes integers and a scale: the choices that decide quality.
//!
//! Every function fills `out` with unsigned 4-bit codes (or int8 bytes) and returns the
//! stored scale (already rounded to its storage precision by `round`, so the codes are
//! chosen against the scale the kernels will really use).

/// Symmetric int4, `value = (q − 8)·d`: tries scales that map the largest-magnitude element
/// to several points near the ends of −8..7, refits each by least squares, keeps the best.
pub(crate) fn q4_symmetric_search(x: &[f32], out: &mut [u8], round: impl Fn(f32) -> f32) -> f32 {
    let peak = x
        .iter()
        .copied()
        .fold(0f32, |m, v| if v.abs() > m.abs() { v } else { m });
    if peak == 0.0 {
        out.fill(8);
        return 0.0;
    }
    let mut best = (f32::INFINITY, 0f32);
    let mut codes = vec![0i32; x.len()];
    for step in 0..=40 {
        // The peak element lands on −9.0..−5.0 or +5.0..+9.0 (codes clamp to −8..7), in
        // steps of 0.2; each start is refitted by least squares twice.
        let target = if step <= 20 {
            -9.0 + 0.2 * step as f32
        } else {
            5.0 + 0.2 * (step - 21) as f32
        };
        let mut d = peak / target;
        for _ in 0..2 {
            for (c, &v) in codes.iter_mut().zip(x) {
                *c = ((v / d).round() as i32).clamp(-8, 7);
            }
            let (sum_xq, sum_qq) = codes.iter().zip(x).fold((0f32, 0f32), |(a, b), (&q, &v)| {
                (a + v * q as f32, b + (q * q) as f32)
            });
            if sum_qq == 0.0 {
                break;
            }
            d = round(sum_xq / sum_qq);
            if d == 0.0 {
                break;
            }
            let err = sq_error(x, d, |i| ((x[i] / d).round()).clamp(-8.0, 7.0), 0.0);
            if err < best.0 {
                best = (err, d);
            }
        }
    }
    let d = best.1;
    encode_symmetric(x, out, d)
}

/// llama.cpp's Q4_0 rule: `d = peak / −8`, codes `min(15, trunc(x/d + 8.5))`.
pub(crate) fn q4_ggml(x: &[f32], out: &mut [u8], round: impl Fn(f32) -> f32) -> f32 {
    let peak = x
        .iter()
        .copied()
        .fold(0f32, |m, v| if v.abs() > m.abs() { v } else { m });
    let d = peak / -8.0;
    let inv = if d != 0.0 { 1.0 / d } else { 0.0 };
    for (o, &v) in out.iter_mut().zip(x) {
        *o = ((v * inv + 8.5) as i8).clamp(0, 15) as u8;
    }
    round(d)
}

fn encode_symmetric(x: &[f32], out: &mut [u8], d: f32) -> f32 {
    let inv = if d != 0.0 { 1.0 / d } else { 0.0 };
    for (o, &v) in out.iter_mut().zip(x) {
        *o = (((v * inv).round() as i32).clamp(-8, 7) + 8) as u8;
    }
    d
}

/// Asymmetric int4, `value = q·d + m`: starts from the range, then alternates encoding and a
/// least-squares refit of `(d, m)`, keeping the best pair seen.
pub(crate) fn q4_asymmetric(x: &[f32], out: &mut [u8], round: impl Fn(f32) -> f32) -> (f32, f32) {
    let lo = x.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if hi <= lo {
        out.fill(0);
        return (0.0, round(lo));
    }
    let (mut d, mut m) = (round((hi - lo) / 15.0), round(lo));
    let mut best = (f32::INFINITY, d, m);
    let mut codes = vec![0f32; x.len()];
    for _ in 0..6 {
        if d == 0.0 {
            break;
        }
        for (c, &v) in codes.iter_mut().zip(x) {
            *c = ((v - m) / d).round().clamp(0.0, 15.0);
        }
        let err = sq_error(x, d, |i| codes[i], m);
        if err < best.0 {
            best = (err, d, m);
        }
        // Solve [Σq² Σq; Σq n]·[d; m] = [Σxq; Σx] for the codes just chosen.
        let n = x.len() as f32;
        let (mut sq, mut sqq, mut sx, mut sxq) = (0f32, 0f32, 0f32, 0f32);
        for (&q, &v) in codes.iter().zip(x) {
            sq += q;
            sqq += q * q;
            sx += v;
            sxq += v * q;
        }
        let det = sqq * n - sq * sq;
        if det.abs() < f32::EPSILON {
            break;
        }
        d = round((sxq * n - sq * sx) / det);
        m = round((sqq * sx - sq * sxq) / det);
    }
    let (_, d, m) = best;
    for (o, &v) in out.iter_mut().zip(x) {
        *o = if d != 0.0 {
            ((v - m) / d).round().clamp(0.0, 15.0) as u8
        } else {
            0
        };
    }
    (d, m)
}

/// Symmetric int8, `value = q·d` with `d = peak/127`.
pub(crate) fn q8_symmetric(x: &[f32], out: &mut [u8], round: impl Fn(f32) -> f32) -> f32 {
    let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    let d = round(amax / 127.0);
    let inv = if d != 0.0 { 1.0 / d } else { 0.0 };
    for (o, &v) in out.iter_mut().zip(x) {
        *o = ((v * inv).round().clamp(-127.0, 127.0) as i8) as u8;
    }
    d
}

fn sq_error(x: &[f32], d: f32, code: impl Fn(usize) -> f32, offset: f32) -> f32 {
    x.iter()
        .enumerate()
        .map(|(i, &v)| {
            let e = v - (code(i) * d + offset);
            e * e
        })
        .sum()
}
