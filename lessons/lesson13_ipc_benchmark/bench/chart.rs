//! Lesson 13's figures as an SVG chart, drawn from a `--json` report (`lesson13 --chart
//! results.json > chart.svg`): throughput at each message size on a logarithmic scale, one bar
//! per mechanism, and the round trips beside it. The book's chart is regenerated this way from
//! a real run.

use shm_workbook::error::{Error, Result};
use shm_workbook::json::Json;

use super::{rate_text, size_text, time_text};
use shm_workbook::json;

/// The mechanisms of the throughput panel: JSON key, label, colour.
const THROUGHPUT: [(&str, &str, &str); 6] = [
    ("memcpy", "memcpy, one process", "#7f7f7f"),
    ("shm_ring", "shm ring", "#d62728"),
    ("pipe", "pipe", "#1f77b4"),
    ("unix_socket", "Unix socket", "#2ca02c"),
    ("sysv_msg_queue", "SysV msg queue", "#9467bd"),
    ("posix_mq", "POSIX mq", "#ff7f0e"),
];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Where `value` falls on a logarithmic axis from `low` to `high`, as a share of its length.
fn log_position(value: f64, low: f64, high: f64) -> f64 {
    ((value.max(low).log10() - low.log10()) / (high.log10() - low.log10())).clamp(0.0, 1.0)
}

/// Powers of ten from `low` to `high`.
fn decades(low: f64, high: f64) -> Vec<f64> {
    let mut ticks = Vec::new();
    let mut tick = 10f64.powf(low.log10().ceil());
    while tick <= high * 1.0001 {
        ticks.push(tick);
        tick *= 10.0;
    }
    ticks
}

/// The SVG chart of a `--json` report: 760 units wide (the book's column), throughput above,
/// round trips below, every label at least 12 units.
pub fn svg(report: &Json) -> Result<String> {
    let bad = |what: &str| Error::other("drawing the chart", format!("the report has no {what}"));
    if report.get("lesson").text() != "lesson13" {
        return Err(bad("\"lesson\": \"lesson13\" (is it lesson13's --json output?)"));
    }
    let sizes: Vec<f64> = report.get("sizes").items().iter().map(Json::num).collect();
    let throughput = report.get("throughput").items();
    let round_trips = report.get("round_trip").items();
    if sizes.is_empty() || throughput.is_empty() || round_trips.is_empty() {
        return Err(bad("sizes, throughput or round_trip figures"));
    }
    let (width, height) = (760.0, 740.0);
    let mut out = String::new();
    let mut put = |text: String| out.push_str(&text);
    put(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" \
         width=\"{width}\" height=\"{height}\" font-family=\"DejaVu Sans, Helvetica, Arial, \
         sans-serif\" font-size=\"14\">\n"
    ));
    put("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n".to_owned());
    let optimised = report.get("machine").get("optimized_build") == &Json::Bool(true);
    let title = format!(
        "lesson13 --json: medians of {} repetitions{}{}",
        report.get("repetitions").num(),
        if report.get("fast") == &Json::Bool(true) { ", --fast" } else { "" },
        if optimised { "" } else { ", UNOPTIMISED build" }
    );
    put(format!(
        "<text x=\"20\" y=\"26\" font-size=\"16\" font-weight=\"bold\">{}</text>\n",
        escape(&title)
    ));
    // Panel 1: throughput, grouped by size, log scale from 10 MB/s to 100 GB/s.
    let (left, top, plot_w, plot_h) = (92.0, 70.0, 650.0, 250.0);
    let (low, high) = (1e7, 1e11);
    put("<text x=\"20\" y=\"54\">Throughput, bytes per second (log scale)</text>\n".to_owned());
    for tick in decades(low, high) {
        let y = top + plot_h * (1.0 - log_position(tick, low, high));
        put(format!(
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#dddddd\"/>\n<text \
             x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"13\">{}</text>\n",
            left + plot_w,
            left - 6.0,
            y + 5.0,
            escape(&rate_text(tick).replace(".00", "").replace(".0", ""))
        ));
    }
    let group = plot_w / sizes.len() as f64;
    let bar = (group - 16.0) / THROUGHPUT.len() as f64;
    for (i, &size) in sizes.iter().enumerate() {
        let x0 = left + group * i as f64 + 8.0;
        for (j, (key, label, colour)) in THROUGHPUT.iter().enumerate() {
            let cell = throughput
                .iter()
                .find(|c| c.get("mechanism").text() == *key && c.get("size").num() == size);
            let rate = cell.map_or(f64::NAN, |c| c.get("bytes_per_s").num());
            let x = x0 + bar * j as f64;
            if rate.is_finite() && rate > 0.0 {
                let h = plot_h * log_position(rate, low, high);
                put(format!(
                    "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" \
                     fill=\"{colour}\"><title>{} {}: {}</title></rect>\n",
                    top + plot_h - h,
                    bar - 2.0,
                    escape(label),
                    escape(&size_text(size as usize)),
                    escape(&rate_text(rate))
                ));
            } else {
                put(format!(
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" text-anchor=\"middle\" \
                     fill=\"#555555\">×</text>\n",
                    x + bar / 2.0,
                    top + plot_h - 4.0
                ));
            }
        }
        put(format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
            x0 + (group - 16.0) / 2.0,
            top + plot_h + 22.0,
            escape(&size_text(size as usize))
        ));
    }
    for (j, (_, label, colour)) in THROUGHPUT.iter().enumerate() {
        let (x, y) = (20.0 + 240.0 * (j % 3) as f64, top + plot_h + 52.0 + 24.0 * (j / 3) as f64);
        put(format!(
            "<rect x=\"{x}\" y=\"{}\" width=\"14\" height=\"14\" fill=\"{colour}\"/><text x=\"{}\" \
             y=\"{y}\">{}</text>\n",
            y - 12.0,
            x + 20.0,
            escape(label)
        ));
    }
    put(format!(
        "<text x=\"20\" y=\"{}\" font-size=\"13\" fill=\"#555555\">×: the size does not fit the \
         queue (its limit, kernel.msgmax or fs.mqueue.msgsize_max)</text>\n",
        top + plot_h + 104.0
    ));
    // Panel 2: round trips, horizontal bars, log scale from 10 ns to 1 ms.
    let (top2, left2, plot_w2, row) = (474.0, 210.0, 440.0, 30.0);
    let (low2, high2) = (1e1, 1e6);
    put(format!(
        "<text x=\"20\" y=\"{}\">Round trip of an 8-byte message (log scale)</text>\n",
        top2 - 16.0
    ));
    let bottom2 = top2 + row * round_trips.len() as f64;
    for tick in decades(low2, high2) {
        let x = left2 + plot_w2 * log_position(tick, low2, high2);
        put(format!(
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{top2}\" y2=\"{bottom2}\" \
             stroke=\"#dddddd\"/>\n<text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\" \
             font-size=\"13\">{}</text>\n",
            bottom2 + 20.0,
            escape(&time_text(tick).replace(".00", ""))
        ));
    }
    for (i, trip) in round_trips.iter().enumerate() {
        let (name, ns) = (trip.get("mechanism").text(), trip.get("ns").num());
        let y = top2 + row * i as f64;
        let colour = if name.starts_with("shm") { "#d62728" } else { "#1f77b4" };
        put(format!(
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            left2 - 8.0,
            y + row / 2.0 + 5.0,
            escape(name)
        ));
        if ns.is_finite() {
            let w = plot_w2 * log_position(ns, low2, high2);
            put(format!(
                "<rect x=\"{left2}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" \
                 fill=\"{colour}\"><title>{}: {}</title></rect>\n<text x=\"{:.1}\" y=\"{:.1}\" \
                 font-size=\"13\">{}</text>\n",
                y + 5.0,
                row - 10.0,
                escape(name),
                escape(&time_text(ns)),
                left2 + w + 6.0,
                y + row / 2.0 + 5.0,
                escape(&time_text(ns))
            ));
        }
    }
    put(format!(
        "<text x=\"20\" y=\"{}\" font-size=\"13\" fill=\"#555555\">red: shared memory; blue: \
         through the kernel. The figures of one run, on one machine.</text>\n",
        bottom2 + 50.0
    ));
    put("</svg>\n".to_owned());
    Ok(out)
}

/// Reads the report at `path` and returns its chart.
pub fn svg_from_file(path: &str) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| Error::io(format!("reading the report {path}"), err))?;
    let report = json::parse(&text).map_err(|why| {
        Error::other(format!("reading the report {path}"), format!("it is not JSON: {why}"))
            .with_hint(
                "make one with:  cargo run --release --bin lesson13 -- --json > results.json",
            )
    })?;
    svg(&report)
}

/// `--chart FILE`: reads the report at `path` and writes its chart to `stdout`.
pub fn write(path: &str, mut stdout: &std::fs::File) -> Result<()> {
    use std::io::Write;
    let svg = svg_from_file(path)?;
    stdout.write_all(svg.as_bytes()).map_err(|err| Error::io("writing the chart to stdout", err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_reads_back_what_the_library_writes() {
        use shm_workbook::json::Json;
        let written = Json::object([
            ("lesson", Json::from("lesson13")),
            ("text", Json::from("a \"b\"\n\u{1}")),
            ("list", Json::Array(vec![Json::Number(1.5), Json::Null, Json::Bool(false)])),
            ("empty", Json::Array(vec![])),
            ("nested", Json::object([("x", Json::Number(-2e-3))])),
        ])
        .render();
        let value = json::parse(&written).unwrap();
        assert_eq!(value.get("lesson").text(), "lesson13");
        assert_eq!(value.get("text").text(), "a \"b\"\n\u{1}");
        assert_eq!(value.get("list").items().len(), 3);
        assert_eq!(value.get("nested").get("x").num(), -2e-3);
        assert!(value.get("empty").items().is_empty());
        assert!(
            json::parse("{\"a\": 1,}").is_err()
                && json::parse("[1 2]").is_err()
                && json::parse("{} x").is_err()
        );
    }

    #[test]
    fn the_chart_draws_every_figure_and_refuses_other_documents() {
        let report = json::parse(
            r#"{"lesson": "lesson13", "repetitions": 7, "fast": false,
                "machine": {"optimized_build": true}, "sizes": [64, 4096],
                "throughput": [
                  {"mechanism": "shm_ring", "size": 64, "bytes_per_s": 4e9},
                  {"mechanism": "pipe", "size": 4096, "bytes_per_s": 2e9},
                  {"mechanism": "posix_mq", "size": 4096, "fits": false}],
                "round_trip": [{"mechanism": "shm spin", "ns": 350},
                               {"mechanism": "pipe pair", "ns": 9000}]}"#,
        )
        .unwrap();
        let drawn = svg(&report).unwrap();
        assert!(drawn.starts_with("<svg ") && drawn.ends_with("</svg>\n"), "{drawn}");
        assert!(drawn.contains("<title>shm ring 64 B: 4.00 GB/s</title>"), "{drawn}");
        assert!(drawn.contains("<title>pipe pair: 9.00 µs</title>"), "{drawn}");
        assert!(drawn.contains("medians of 7 repetitions"), "{drawn}");
        assert!(svg(&json::parse(r#"{"lesson": "lesson12"}"#).unwrap()).is_err());
    }
}
