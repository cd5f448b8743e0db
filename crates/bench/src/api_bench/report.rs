//! One line of the results table per path.

use super::Samples;

pub(super) const HEADER: &str = "| path             |   req/s |  p50 ms |  p95 ms |  p99 ms |  max ms |  gap ms | errors | stmt/req | bare/s | stmt/op | ratio | RSS MiB |\n\
                      |------------------|---------|---------|---------|---------|---------|---------|--------|----------|--------|---------|-------|---------|";

pub(super) fn report(
    path: &str,
    mut api: Samples,
    base: Option<Samples>,
    rss: f64,
    probe: &[String],
) {
    let (base_rate, base_stmts, ratio) = match base {
        Some(b) => (
            format!("{:.0}", b.per_second()),
            format!("{:.1}", b.statements_each()),
            format!("{:.2}", api.per_second() / b.per_second().max(1e-9)),
        ),
        None => ("—".into(), "—".into(), "—".into()),
    };
    println!(
        "| {path:<16} | {:>7.0} | {:>7.1} | {:>7.1} | {:>7.1} | {:>7.0} | {:>7.0} | {:>6} | {:>8.1} | {base_rate:>6} | {base_stmts:>7} | {ratio:>5} | {rss:>7.0} |",
        api.per_second(),
        api.percentile(500),
        api.percentile(950),
        api.percentile(990),
        api.percentile(1000),
        api.longest_gap_ms(),
        api.errors,
        api.statements_each(),
    );
    for line in probe {
        println!("{line}");
    }
}
