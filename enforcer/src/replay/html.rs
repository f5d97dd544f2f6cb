//! The replay as a self-contained HTML page: a chart of violations per day by owner (inline
//! SVG), the top offending resources and principals, and the unsupported calls. No script, no
//! external resource; the markup is well-formed XML so any parser reads it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::summary::{Count, DayCount, ReplaySummary};
use super::time::{date_of, parse_millis};
use crate::engine::Outcome;

/// Escapes text for HTML content and quoted attribute values (html-escape: `&`, `<`, `>`, `"`,
/// `'`). Control characters other than newline and tab are not allowed in XML, and the page is
/// well-formed XML, so they become U+FFFD.
pub fn escape(text: &str) -> String {
    html_escape::encode_quoted_attribute(text)
        .chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

/// Owners drawn with their own colour; the rest are summed as "other".
const CHART_OWNERS: usize = 8;

/// Renders the report.
pub fn render(summary: &ReplaySummary, title: &str) -> String {
    let mut out = String::new();
    head(&mut out, title);
    let range = match (&summary.first_event, &summary.last_event) {
        (Some(first), Some(last)) => format!("events from {first} to {last}"),
        _ => "no event times".to_owned(),
    };
    let _ = writeln!(
        out,
        r#"<p class="sub">{} records in {} files ({:.1} MB of JSON), {}; replayed in {:.1} s.</p>"#,
        summary.records,
        summary.files,
        summary.bytes_decoded as f64 / 1e6,
        escape(&range),
        summary.seconds
    );
    cards(&mut out, summary);
    out.push_str("<h2>Violations per day, by owner</h2>\n");
    chart(&mut out, summary);
    out.push_str("<div class=\"grid\">\n<div>\n<h2>Top offending resources</h2>\n");
    top_resources(&mut out, summary);
    out.push_str("</div>\n<div>\n<h2>Top principals</h2>\n");
    ranked_table(
        &mut out,
        &summary.violations_by_principal,
        "principal",
        true,
    );
    out.push_str("</div>\n</div>\n<div class=\"grid\">\n<div>\n<h2>By rule</h2>\n");
    ranked_table(&mut out, &summary.violations_by_rule, "rule", false);
    out.push_str("</div>\n<div>\n<h2>By owner and by service</h2>\n");
    ranked_table(&mut out, &summary.violations_by_owner, "owner", false);
    ranked_table(&mut out, &summary.violations_by_service, "service", false);
    out.push_str("</div>\n</div>\n");
    let _ = writeln!(
        out,
        "<h2>Unsupported calls</h2>\n<p class=\"muted\">Calls outside the catalog: the enforcer cannot tell which resources they touched. The most frequent are the first to add to <code>events/catalog.toml</code>.</p>"
    );
    if summary.unsupported.is_empty() {
        out.push_str("<p class=\"muted\">None.</p>\n");
    } else {
        let most = summary.unsupported.first().map_or(1, |c| c.count.max(1));
        out.push_str("<table>\n<tr><th>service</th><th>call</th><th>records</th><th></th></tr>\n");
        for call in summary.unsupported.iter().take(25) {
            let _ = writeln!(
                out,
                r#"<tr><td>{}</td><td>{}</td><td class="n">{}</td><td><span class="bar" style="width:{}px"></span></td></tr>"#,
                escape(&call.event_source),
                escape(&call.event_name),
                call.count,
                (call.count * 160 / most).max(1)
            );
        }
        out.push_str("</table>\n");
        if summary.unsupported.len() > 25 {
            let _ = writeln!(
                out,
                "<p class=\"muted\">… and {} more kinds of call.</p>",
                summary.unsupported.len() - 25
            );
        }
    }
    if summary.decode_errors_total > 0 || summary.unresolved_total > 0 {
        out.push_str("<h2>Inputs that could not be used</h2>\n<table>\n<tr><th>where</th><th>why</th></tr>\n");
        for error in summary
            .decode_errors
            .iter()
            .chain(&summary.unresolved)
            .take(50)
        {
            let _ = writeln!(
                out,
                r#"<tr><td class="arn">{}</td><td>{}</td></tr>"#,
                escape(&error.location),
                escape(&error.message)
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// The document up to the title, with the report's style.
fn head(out: &mut String, title: &str) {
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>{title}</title>
<style>
body {{ font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #1f2328; }}
h1 {{ font-size: 1.6rem; margin-bottom: .2rem; }}
h2 {{ font-size: 1.15rem; margin-top: 2.2rem; border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; }}
.sub {{ color: #59636e; margin-top: 0; }}
.cards {{ display: flex; flex-wrap: wrap; gap: .8rem; margin: 1.2rem 0; }}
.card {{ border: 1px solid #d0d7de; border-radius: 8px; padding: .7rem 1rem; min-width: 8.5rem; }}
.card b {{ display: block; font-size: 1.5rem; }}
.card span {{ color: #59636e; font-size: .85rem; }}
.bad b {{ color: #cf222e; }} .fix b {{ color: #0969da; }} .ok b {{ color: #1a7f37; }}
table {{ border-collapse: collapse; width: 100%; font-size: .9rem; }}
th, td {{ text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #eaeef2; vertical-align: top; }}
th {{ background: #f6f8fa; }}
td.n {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
td.arn {{ font-family: ui-monospace, monospace; font-size: .82rem; word-break: break-all; }}
.bar {{ display: inline-block; height: .7rem; background: #e15759; border-radius: 2px; vertical-align: middle; }}
.grid {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1.5rem; }}
.legend span {{ display: inline-block; margin-right: 1rem; font-size: .85rem; }}
.legend i {{ display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -1px; border-radius: 2px; }}
svg text {{ font: 11px system-ui, sans-serif; fill: #59636e; }}
.muted {{ color: #59636e; }}
</style>
</head>
<body>
<h1>{title}</h1>
"#,
        title = escape(title)
    );
}

/// The resources with the most violations.
fn top_resources(out: &mut String, summary: &ReplaySummary) {
    if summary.top_resources.is_empty() {
        out.push_str("<p class=\"muted\">No resource broke the standard.</p>\n");
    } else {
        out.push_str("<table>\n<tr><th>resource</th><th>owner</th><th>violations</th></tr>\n");
        for resource in summary.top_resources.iter().take(20) {
            let _ = writeln!(
                out,
                r#"<tr><td class="arn">{}<br/><span class="muted">{}</span></td><td>{}</td><td class="n">{}</td></tr>"#,
                escape(&resource.arn),
                escape(&resource.resource_type),
                escape(&resource.owner),
                resource.violations
            );
        }
        out.push_str("</table>\n");
    }
}

/// Renders a scan's report (`enforcer scan --html`) with the replay's style and parts: the
/// outcome cards, the worst resources, violations by rule, owner, account and type, and which
/// selected types the scan enumerated (`coverage`: each type and how, in words).
pub fn render_scan(
    summary: &ReplaySummary,
    title: &str,
    subtitle: &str,
    coverage: &[(String, String)],
) -> String {
    let mut out = String::new();
    head(&mut out, title);
    let _ = writeln!(out, r#"<p class="sub">{}</p>"#, escape(subtitle));
    cards(&mut out, summary);
    out.push_str("<h2>Top offending resources</h2>\n");
    top_resources(&mut out, summary);
    out.push_str("<div class=\"grid\">\n<div>\n<h2>By owner</h2>\n");
    ranked_table(&mut out, &summary.violations_by_owner, "owner", false);
    out.push_str("</div>\n<div>\n<h2>By account</h2>\n");
    ranked_table(&mut out, &summary.violations_by_account, "account", true);
    out.push_str("</div>\n</div>\n<div class=\"grid\">\n<div>\n<h2>By rule</h2>\n");
    ranked_table(&mut out, &summary.violations_by_rule, "rule", false);
    out.push_str("</div>\n<div>\n<h2>By type</h2>\n");
    ranked_table(&mut out, &summary.violations_by_type, "type", false);
    out.push_str("</div>\n</div>\n<h2>Coverage of the selected types</h2>\n");
    if coverage.is_empty() {
        out.push_str(
            "<p class=\"muted\">No type was discovered (an inventory file was scanned).</p>\n",
        );
    } else {
        out.push_str("<table>\n<tr><th>type</th><th>how its resources were found</th></tr>\n");
        for (kind, how) in coverage {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td></tr>",
                escape(kind),
                escape(how)
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn cards(out: &mut String, summary: &ReplaySummary) {
    let card = |out: &mut String, class: &str, value: u64, label: &str| {
        let _ = writeln!(
            out,
            r#"<div class="card {class}"><b>{value}</b><span>{}</span></div>"#,
            escape(label)
        );
    };
    out.push_str("<div class=\"cards\">\n");
    card(out, "bad", summary.violations, "violations");
    card(
        out,
        "fix",
        summary.violations_fixed_by_plan,
        "fixable by adding tags",
    );
    card(
        out,
        "bad",
        summary.count(Outcome::Quarantine),
        "quarantines",
    );
    card(out, "bad", summary.count(Outcome::Alert), "alerts");
    card(
        out,
        "fix",
        summary.count(Outcome::Remediate),
        "remediations",
    );
    card(
        out,
        "ok",
        summary.count(Outcome::Compliant),
        "compliant changes",
    );
    card(
        out,
        "",
        summary.count(Outcome::Unsupported),
        "unsupported calls",
    );
    card(out, "", summary.count(Outcome::Ignored), "ignored");
    card(out, "", summary.count(Outcome::Error), "errors");
    out.push_str("</div>\n");
}

fn ranked_table(out: &mut String, counts: &[Count], what: &str, monospace: bool) {
    if counts.is_empty() {
        out.push_str("<p class=\"muted\">None.</p>\n");
        return;
    }
    let _ = writeln!(out, "<table>\n<tr><th>{what}</th><th>violations</th></tr>");
    for count in counts.iter().take(15) {
        let _ = writeln!(
            out,
            r#"<tr><td{}>{}</td><td class="n">{}</td></tr>"#,
            if monospace { r#" class="arn""# } else { "" },
            escape(&count.key),
            count.count
        );
    }
    out.push_str("</table>\n");
}

/// A stacked bar per day: one colour per top owner, the rest as "other".
fn chart(out: &mut String, summary: &ReplaySummary) {
    if summary.daily.is_empty() {
        out.push_str("<p class=\"muted\">No violations to chart.</p>\n");
        return;
    }
    let mut owners: Vec<&str> = summary
        .violations_by_owner
        .iter()
        .map(|c| c.key.as_str())
        .take(CHART_OWNERS)
        .collect();
    let has_other = summary.violations_by_owner.len() > CHART_OWNERS;
    if has_other {
        owners.push("other");
    }
    let colour = |index: usize| PALETTE[index % PALETTE.len()];
    // One slot per calendar day from the first to the last day with violations (days without
    // any stay empty), unless that is more than two years: then only the days with data.
    let day_number =
        |date: &str| parse_millis(&format!("{date}T00:00:00Z")).map(|ms| ms / 86_400_000);
    let by_day: BTreeMap<i64, &DayCount> = summary
        .daily
        .iter()
        .filter_map(|day| Some((day_number(&day.date)?, day)))
        .collect();
    let days: Vec<i64> = match (by_day.keys().next(), by_day.keys().next_back()) {
        (Some(first), Some(last)) if last - first <= 731 => (*first..=*last).collect(),
        _ => by_day.keys().copied().collect(),
    };
    let stacks: Vec<(String, Vec<u64>)> = days
        .iter()
        .map(|number| {
            let mut values = vec![0u64; owners.len()];
            if let Some(day) = by_day.get(number) {
                for (owner, count) in &day.by_owner {
                    let slot = owners
                        .iter()
                        .position(|o| o == owner)
                        .unwrap_or(owners.len() - 1);
                    values[slot] += count;
                }
            }
            (date_of(number * 86_400_000), values)
        })
        .collect();
    let tallest = stacks
        .iter()
        .map(|(_, v)| v.iter().sum::<u64>())
        .max()
        .unwrap_or(1)
        .max(1);
    let (width, height, left, bottom, top) = (1040.0, 300.0, 48.0, 40.0, 10.0);
    let plot_w = width - left - 10.0;
    let plot_h = height - bottom - top;
    let step = plot_w / stacks.len() as f64;
    let bar = (step * 0.8).max(1.0);
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="violations per day by owner">"#
    );
    for tick in 0..=4 {
        let value = tallest as f64 * f64::from(tick) / 4.0;
        let y = top + plot_h - plot_h * f64::from(tick) / 4.0;
        let _ = writeln!(
            out,
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#eaeef2"/><text x="{}" y="{:.1}" text-anchor="end">{:.0}</text>"##,
            width - 10.0,
            left - 6.0,
            y + 4.0,
            value
        );
    }
    let label_every = (stacks.len() / 12).max(1);
    let mut per_owner_total: BTreeMap<usize, u64> = BTreeMap::new();
    for (index, (date, values)) in stacks.iter().enumerate() {
        let x = left + step * index as f64 + (step - bar) / 2.0;
        let mut y = top + plot_h;
        for (slot, value) in values.iter().enumerate() {
            if *value == 0 {
                continue;
            }
            *per_owner_total.entry(slot).or_default() += value;
            let h = plot_h * *value as f64 / tallest as f64;
            y -= h;
            let _ = writeln!(
                out,
                r#"<rect x="{x:.2}" y="{y:.2}" width="{bar:.2}" height="{h:.2}" fill="{}"><title>{} {}: {}</title></rect>"#,
                colour(slot),
                escape(date),
                escape(owners[slot]),
                value
            );
        }
        if index % label_every == 0 {
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x + bar / 2.0,
                height - bottom + 16.0,
                escape(date.get(5..).unwrap_or(date.as_str()))
            );
        }
    }
    let _ = writeln!(
        out,
        r##"<line x1="{left}" x2="{}" y1="{:.1}" y2="{:.1}" stroke="#8c959f"/>"##,
        width - 10.0,
        top + plot_h,
        top + plot_h
    );
    out.push_str("</svg>\n<div class=\"legend\">");
    for (slot, owner) in owners.iter().enumerate() {
        let _ = write!(
            out,
            r#"<span><i style="background:{}"></i>{} ({})</span>"#,
            colour(slot),
            escape(owner),
            per_owner_total.get(&slot).copied().unwrap_or(0)
        );
    }
    out.push_str("</div>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::summary::Accumulator;

    #[test]
    fn text_from_the_logs_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;y&#x27;"
        );
        assert_eq!(escape("a\u{1}b\tc\nd"), "a\u{fffd}b\tc\nd");
        let page = render(&Accumulator::default().finish(15, 0.0, 1), "<b>title</b>");
        assert!(page.contains("&lt;b&gt;title&lt;/b&gt;"));
        assert!(!page.contains("<b>title"));
        assert!(page.contains("No violations to chart."));
    }
}
