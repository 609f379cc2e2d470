//! Draws the scaling curves of bench/run-scaling.sh as PNGs: decode tokens/s against context
//! length and prefill tokens/s against prompt length, one line per engine.
//!
//!   plots --input bench/out/scaling.json --out-dir bench/plots [--font /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf]
//!
//! Input: `{"series": [{"name": "...", "points": [{"prompt_tokens": N, "prefill_tok_s": x,
//! "decode_tok_s": y}, ...]}, ...], "note": "..."}`. Text is drawn with ab_glyph from a TTF
//! read at run time (Debian's fonts-dejavu-core), so no fontconfig or system font lookup is
//! involved.

use plotters::prelude::*;
use plotters::style::FontStyle;
use serde_json::Value;
use std::error::Error;

struct Series {
    name: String,
    points: Vec<(f64, f64, f64)>, // (tokens, prefill tok/s, decode tok/s)
}

const COLORS: [RGBColor; 6] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
];

fn arg(args: &[String], name: &str, default: &str) -> String {
    match args.iter().position(|a| a == name) {
        Some(i) => args.get(i + 1).cloned().unwrap_or_else(|| panic!("{name} needs a value")),
        None => default.to_string(),
    }
}

fn read_series(v: &Value) -> Result<Vec<Series>, Box<dyn Error>> {
    let list = v["series"].as_array().ok_or("input has no \"series\" array")?;
    let mut out = Vec::new();
    for s in list {
        let name = s["name"].as_str().ok_or("a series has no name")?.to_string();
        let mut points = Vec::new();
        for p in s["points"].as_array().ok_or("a series has no points")? {
            let n = p["prompt_tokens"].as_f64().ok_or("a point has no prompt_tokens")?;
            let pre = p["prefill_tok_s"].as_f64().ok_or("a point has no prefill_tok_s")?;
            let dec = p["decode_tok_s"].as_f64().ok_or("a point has no decode_tok_s")?;
            points.push((n, pre, dec));
        }
        points.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
        if !points.is_empty() {
            out.push(Series { name, points });
        }
    }
    Ok(out)
}

/// One chart: x = tokens (log 2 scale: the lengths double), y = tokens/s on a log scale, so
/// that the native (~100s of tok/s) and browser (~10s) curves are both readable and equal
/// ratios look equal.
fn draw(
    path: &std::path::Path,
    title: &str,
    subtitle: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    pick: fn(&(f64, f64, f64)) -> f64,
) -> Result<(), Box<dyn Error>> {
    let xs: Vec<f64> = series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).collect();
    let ys: Vec<f64> = series.iter().flat_map(|s| s.points.iter().map(pick)).collect();
    let (xmin, xmax) = xs.iter().fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    let (ymin, ymax) = ys.iter().fold((f64::MAX, f64::MIN), |(a, b), &y| (a.min(y), b.max(y)));
    let root = BitMapBackend::new(path, (960, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    // The subtitle is wrapped at its "; " separators to fit the width.
    let mut lines: Vec<String> = Vec::new();
    for part in subtitle.split("; ") {
        match lines.last_mut() {
            Some(l) if l.len() + part.len() + 2 <= 120 => { l.push_str("; "); l.push_str(part); }
            _ => lines.push(part.to_string()),
        }
    }
    let (top, body) = root.split_vertically(40 + 18 * lines.len() as u32);
    top.draw(&Text::new(title.to_string(), (16, 6), ("sans-serif", 22).into_font()))?;
    for (i, line) in lines.iter().enumerate() {
        top.draw(&Text::new(line.clone(), (16, 34 + 18 * i as i32), ("sans-serif", 14).into_font().color(&RGBColor(0x55, 0x55, 0x55))))?;
    }
    // x is log2(tokens) on a linear axis: the lengths double, so they sit evenly spaced and
    // get a label each (plotters' own log axis puts no label between 128 and 256).
    let (lx0, lx1) = (xmin.log2() - 0.3, xmax.log2() + 0.3);
    // Headroom above the highest curve for the legend (upper right).
    let mut chart = ChartBuilder::on(&body)
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(lx0..lx1, (ymin / 1.6..ymax * 4.0).log_scale())?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_labels(((lx1 - lx0) * 4.0).ceil() as usize + 1)
        .x_label_formatter(&|x| if (x - x.round()).abs() < 1e-6 { format!("{:.0}", 2f64.powf(x.round())) } else { String::new() })
        .y_label_formatter(&|y| if *y >= 10.0 { format!("{y:.0}") } else { format!("{y:.1}") })
        .light_line_style(RGBColor(0xf2, 0xf2, 0xf2))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .draw()?;
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let pts: Vec<(f64, f64)> = s.points.iter().map(|p| (p.0.log2(), pick(p))).collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
            .label(s.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2)));
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
        // The value next to each point: the figure is what readers quote.
        chart.draw_series(pts.iter().map(|&(x, y)| {
            Text::new(
                if y >= 10.0 { format!("{y:.0}") } else { format!("{y:.1}") },
                (x, y * 1.08),
                ("sans-serif", 12).into_font().color(&color),
            )
        }))?;
    }
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    root.present()?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("plots --input bench/out/scaling.json --out-dir bench/plots [--font FILE.ttf]");
        return Ok(());
    }
    let input = arg(&args, "--input", "bench/out/scaling.json");
    let out_dir = std::path::PathBuf::from(arg(&args, "--out-dir", "bench/plots"));
    let font = arg(&args, "--font", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
    let bytes = std::fs::read(&font).map_err(|e| format!("reading the font {font}: {e} (apt-get install fonts-dejavu-core)"))?;
    // ab_glyph keeps a &'static reference to the font for the whole process.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).map_err(|_| format!("{font} is not a usable TTF"))?;

    let v: Value = serde_json::from_str(&std::fs::read_to_string(&input).map_err(|e| format!("reading {input}: {e}"))?)?;
    let series = read_series(&v)?;
    if series.is_empty() {
        return Err(format!("{input}: no series with points").into());
    }
    let note = v["note"].as_str().unwrap_or("");
    std::fs::create_dir_all(&out_dir)?;
    let decode = out_dir.join("decode-vs-context.png");
    let prefill = out_dir.join("prefill-vs-prompt.png");
    draw(
        &decode,
        "SmolLM2-135M: decode speed against context length",
        note,
        "tokens already in the context (prompt length)",
        "decode tokens/s (log scale)",
        &series,
        |p| p.2,
    )?;
    draw(
        &prefill,
        "SmolLM2-135M: prefill speed against prompt length",
        note,
        "prompt tokens",
        "prefill tokens/s (log scale)",
        &series,
        |p| p.1,
    )?;
    println!("wrote {} and {}", decode.display(), prefill.display());
    Ok(())
}
