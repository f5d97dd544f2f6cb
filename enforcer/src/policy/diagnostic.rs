//! Policy diagnostics: what is wrong, where (file, line, column, the source line), and how to fix
//! it. Rendered by miette for people and as JSON for editors and CI.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use miette::{LabeledSpan, Severity, SourceCode};
use serde::Serialize;

/// Error or warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The policy cannot be used.
    Error,
    /// The policy works but is probably not what the author meant.
    Warning,
}

/// A policy source file, shared by all diagnostics about it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path as the user gave it.
    pub path: String,
    /// Full text.
    pub text: Arc<String>,
}

impl SourceFile {
    /// 1-based line and column of byte `offset`.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rfind('\n').map_or(before.chars().count(), |nl| {
            before[nl + 1..].chars().count()
        }) + 1;
        (line, column)
    }
}

/// One problem found in a policy.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// Error or warning.
    pub level: Level,
    /// Stable identifier, e.g. `policy::unknown-key`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// The file, when the problem is in one.
    pub source: Option<SourceFile>,
    /// Byte range in the file.
    pub span: Option<Range<usize>>,
    /// How to fix it.
    pub help: Option<String>,
    /// Other places involved (e.g. the other rule of a conflict).
    pub related: Vec<(SourceFile, Range<usize>, String)>,
}

impl Diagnostic {
    /// An error about `span` in `source`.
    pub fn error(
        code: &'static str,
        message: impl Into<String>,
        source: &SourceFile,
        span: Range<usize>,
    ) -> Self {
        Self {
            level: Level::Error,
            code,
            message: message.into(),
            source: Some(source.clone()),
            span: Some(span),
            help: None,
            related: Vec::new(),
        }
    }

    /// A warning about `span` in `source`.
    pub fn warning(
        code: &'static str,
        message: impl Into<String>,
        source: &SourceFile,
        span: Range<usize>,
    ) -> Self {
        Self {
            level: Level::Warning,
            ..Self::error(code, message, source, span)
        }
    }

    /// An error not tied to a place in a file (e.g. an unreadable directory).
    pub(crate) fn general(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            level: Level::Error,
            code,
            message: message.into(),
            source: None,
            span: None,
            help: None,
            related: Vec::new(),
        }
    }

    /// Adds a help line.
    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds another place involved in the problem.
    pub(crate) fn with_related(
        mut self,
        source: &SourceFile,
        span: Range<usize>,
        label: impl Into<String>,
    ) -> Self {
        self.related.push((source.clone(), span, label.into()));
        self
    }

    /// `file:line:column`, or the file alone, or nothing.
    pub fn location(&self) -> Option<String> {
        let source = self.source.as_ref()?;
        Some(match &self.span {
            Some(span) => {
                let (line, column) = source.line_column(span.start);
                format!("{}:{line}:{column}", source.path)
            }
            None => source.path.clone(),
        })
    }

    /// The diagnostic as a JSON object for `--format json`.
    pub fn to_json(&self) -> serde_json::Value {
        let position = self
            .source
            .as_ref()
            .zip(self.span.as_ref())
            .map(|(source, span)| {
                let (line, column) = source.line_column(span.start);
                (source.path.clone(), line, column)
            });
        serde_json::json!({
            "level": self.level,
            "code": self.code,
            "message": self.message,
            "file": position.as_ref().map(|p| p.0.clone()).or_else(|| self.source.as_ref().map(|s| s.path.clone())),
            "line": position.as_ref().map(|p| p.1),
            "column": position.as_ref().map(|p| p.2),
            "help": self.help,
            "related": self.related.iter().map(|(source, span, label)| {
                let (line, column) = source.line_column(span.start);
                serde_json::json!({"file": source.path, "line": line, "column": column, "label": label})
            }).collect::<Vec<_>>(),
        })
    }

    /// Renders the diagnostic for a terminal: location, source line with a caret, help.
    pub fn render(&self, color: bool) -> String {
        let theme = if color {
            miette::GraphicalTheme::unicode()
        } else {
            miette::GraphicalTheme::unicode_nocolor()
        };
        let handler = miette::GraphicalReportHandler::new_themed(theme)
            .with_context_lines(1)
            .with_width(100);
        let mut out = String::new();
        let rendered = Rendered {
            diagnostic: self,
            named: self
                .source
                .as_ref()
                .map(|s| miette::NamedSource::new(&s.path, Arc::clone(&s.text))),
        };
        if handler.render_report(&mut out, &rendered).is_err() {
            return self.to_string();
        }
        // Places near the main one are labelled in its snippet; others get their own line.
        for (source, span, label) in &self.related {
            if self.labels_inline(source, span) {
                continue;
            }
            let (line, column) = source.line_column(span.start);
            out.push_str(&format!(
                "  also: {}:{line}:{column}: {label}\n",
                source.path
            ));
            let text = source.text.as_str();
            let start = text[..span.start.min(text.len())]
                .rfind('\n')
                .map_or(0, |nl| nl + 1);
            let end = text[start..].find('\n').map_or(text.len(), |nl| start + nl);
            let gutter = line.to_string().len();
            let width = text[span.start.min(end)..span.end.min(end)]
                .chars()
                .count()
                .max(1);
            out.push_str(&format!(
                "  {line} │ {}\n  {:gutter$} · {}{}\n",
                &text[start..end],
                "",
                " ".repeat(column - 1),
                "─".repeat(width)
            ));
        }
        out.push('\n');
        out
    }

    /// Is a related place close enough to the main one to share its snippet? (miette joins
    /// every label of a file into one snippet, however far apart.)
    fn labels_inline(&self, other: &SourceFile, other_span: &Range<usize>) -> bool {
        let (Some(source), Some(span)) = (&self.source, &self.span) else {
            return false;
        };
        if source.path != other.path {
            return false;
        }
        let here = source.line_column(span.start).0;
        let there = source.line_column(other_span.start).0;
        here.abs_diff(there) <= 3
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        if let Some(location) = self.location() {
            write!(f, "{location}: ")?;
        }
        write!(f, "{level}[{}]: {}", self.code, self.message)?;
        if let Some(help) = &self.help {
            write!(f, " (help: {help})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// Adapter that gives miette the file (named, so the snippet header shows its path) and the
/// labelled span.
struct Rendered<'a> {
    diagnostic: &'a Diagnostic,
    named: Option<miette::NamedSource<Arc<String>>>,
}

impl fmt::Debug for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.diagnostic, f)
    }
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)?;
        // Without a span miette shows no snippet: give the location in the message.
        if self.diagnostic.span.is_none() {
            if let Some(location) = self.diagnostic.location() {
                write!(f, "\n  at {location}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Rendered<'_> {}

impl miette::Diagnostic for Rendered<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.diagnostic.code))
    }

    fn severity(&self) -> Option<Severity> {
        Some(match self.diagnostic.level {
            Level::Error => Severity::Error,
            Level::Warning => Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h.clone()) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.named.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.diagnostic.span.clone()?;
        let len = span.end.saturating_sub(span.start).max(1);
        let primary =
            LabeledSpan::new_primary_with_span(Some("here".to_owned()), (span.start, len));
        let related = self
            .diagnostic
            .related
            .iter()
            .filter(|(source, span, _)| self.diagnostic.labels_inline(source, span))
            .map(|(_, span, label)| {
                let len = span.end.saturating_sub(span.start).max(1);
                LabeledSpan::new(Some(label.clone()), span.start, len)
            });
        Some(Box::new(std::iter::once(primary).chain(related)))
    }
}

/// The closest candidate by edit distance, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word_lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|candidate| {
            (
                strsim::levenshtein(&word_lower, &candidate.to_lowercase()),
                candidate,
            )
        })
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// The help line for an unknown name: "did you mean `x`?" when a candidate is close, else
/// `otherwise`.
pub(crate) fn suggest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    otherwise: &str,
) -> String {
    match did_you_mean(word, candidates) {
        Some(candidate) => format!("did you mean `{candidate}`?"),
        None => otherwise.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_by_edit_distance() {
        let values = ["Public", "Internal", "Confidential", "Restricted"];
        assert_eq!(did_you_mean("Confidental", values), Some("Confidential"));
        assert_eq!(did_you_mean("internal", values), Some("Internal"));
        assert_eq!(did_you_mean("Banana", values), None);
    }

    #[test]
    fn line_and_column() {
        let source = SourceFile {
            path: "p.toml".into(),
            text: Arc::new("a = 1\nbb = 2\n".into()),
        };
        assert_eq!(source.line_column(0), (1, 1));
        assert_eq!(source.line_column(9), (2, 4));
        let diagnostic = Diagnostic::error("policy::x", "bad", &source, 6..8).with_help("fix it");
        assert_eq!(
            diagnostic.to_string(),
            "p.toml:2:1: error[policy::x]: bad (help: fix it)"
        );
        let rendered = diagnostic.render(false);
        assert!(rendered.contains("bb = 2"), "{rendered}");
        assert!(rendered.contains("fix it"), "{rendered}");
    }
}
