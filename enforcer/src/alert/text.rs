//! Text helpers shared by the renderings: escaping for Slack-flavoured markdown, and truncation
//! that never splits a character, an HTML entity or a code fence.

/// The ellipsis appended to text that was cut.
pub(crate) const ELLIPSIS: char = '…';

/// Escapes the three characters Slack's markdown (`mrkdwn`) reserves for links and mentions:
/// `&`, `<` and `>`. Everything the enforcer renders from resources, tags or policies goes through
/// this, so a tag value such as `<none>` cannot turn into a link or a mention.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Number of characters (Unicode scalar values), the unit Slack's limits count.
pub(crate) fn char_len(text: &str) -> usize {
    text.chars().count()
}

/// Cuts `text` to at most `max` characters, ending in `…` when it was cut. Never splits a
/// character or an escaped entity (`&amp;`, `&lt;`, `&gt;`), and closes a code fence (```)
/// left open by the cut.
pub fn truncate(text: &str, max: usize) -> String {
    if char_len(text) <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    // Room for the ellipsis and, if needed, a closing fence on its own line.
    const FENCE_CLOSE: &str = "\n```";
    let mut budget = max - 1;
    loop {
        let mut cut: String = text.chars().take(budget).collect();
        // Do not leave half an entity behind: `&am` becomes nothing.
        if let Some(amp) = cut.rfind('&') {
            if !cut[amp..].contains(';') {
                cut.truncate(amp);
            }
        }
        let open_fence = cut.matches("```").count() % 2 == 1;
        let needed = char_len(&cut) + 1 + if open_fence { FENCE_CLOSE.len() } else { 0 };
        if needed <= max || budget == 0 {
            cut.push(ELLIPSIS);
            if open_fence {
                cut.push_str(FENCE_CLOSE);
            }
            return cut;
        }
        budget = budget.saturating_sub(needed - max);
    }
}

/// Joins whole lines under `limit` characters: lines that do not fit are replaced by one
/// `…and N more` line, so a long list never ends mid-item. A first line longer than the limit is
/// itself truncated.
pub(crate) fn fit_lines(lines: &[String], limit: usize) -> String {
    let mut out = String::new();
    for (index, line) in lines.iter().enumerate() {
        let separator = usize::from(!out.is_empty());
        let remaining = lines.len() - index - 1;
        let more = if remaining > 0 {
            format!("\n{ELLIPSIS}and {remaining} more")
        } else {
            String::new()
        };
        if char_len(&out) + separator + char_len(line) + char_len(&more) <= limit {
            if separator == 1 {
                out.push('\n');
            }
            out.push_str(line);
            continue;
        }
        let rest = lines.len() - index;
        let tail = format!("{ELLIPSIS}and {rest} more");
        if out.is_empty() {
            // Not even the first line fits with a tail: cut it instead.
            return truncate(line, limit);
        }
        out.push('\n');
        out.push_str(&tail);
        return truncate(&out, limit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_only_what_slack_reserves() {
        assert_eq!(
            escape("a <b> & c|d *e* `f`"),
            "a &lt;b&gt; &amp; c|d *e* `f`"
        );
    }

    #[test]
    fn short_text_is_unchanged() {
        assert_eq!(truncate("héllo", 5), "héllo");
        assert_eq!(truncate("", 0), "");
    }

    #[test]
    fn truncation_counts_characters_and_marks_the_cut() {
        assert_eq!(truncate("ééééé", 4), "ééé…");
        assert_eq!(char_len(&truncate(&"x".repeat(5000), 3000)), 3000);
    }

    #[test]
    fn truncation_never_leaves_half_an_entity() {
        let text = escape("ab<cd");
        assert_eq!(text, "ab&lt;cd");
        assert_eq!(truncate(&text, 5), "ab…");
        assert_eq!(truncate(&text, 7), "ab&lt;…");
    }

    #[test]
    fn truncation_closes_an_open_code_fence() {
        let text = format!("Fix:\n```{}```", "y".repeat(100));
        let cut = truncate(&text, 40);
        assert!(char_len(&cut) <= 40, "{cut}");
        assert!(cut.ends_with("…\n```"), "{cut}");
        assert_eq!(cut.matches("```").count(), 2);
    }

    #[test]
    fn lines_are_kept_whole_with_a_count_of_the_rest() {
        let lines: Vec<String> = (1..=5).map(|i| format!("line {i}")).collect();
        assert_eq!(
            fit_lines(&lines, 1000),
            "line 1\nline 2\nline 3\nline 4\nline 5"
        );
        assert_eq!(fit_lines(&lines, 30), "line 1\nline 2\n…and 3 more");
        assert!(char_len(&fit_lines(&lines, 30)) <= 30);
        assert_eq!(
            fit_lines(&["x".repeat(50)], 10),
            format!("{}…", "x".repeat(9))
        );
    }
}
