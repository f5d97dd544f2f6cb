//! The one progress display of the long commands (`scan`, `replay`, `check` over many files):
//! an indicatif bar on stderr, drawn only when stderr is a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// What the bar shows; the style is set when this changes, not on every update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Items,
    Bytes,
}

/// A progress display on stderr; hidden (every call does nothing) when stderr is not a terminal.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    shape: Option<Shape>,
}

impl Progress {
    /// A progress display, on when stderr is a terminal.
    pub fn for_stderr() -> Self {
        Self::shown_if(std::io::stderr().is_terminal())
    }

    /// A progress display for a command that writes its results to stdout as it goes: on when
    /// stderr is a terminal and stdout is not, so a bar never breaks into results being read
    /// on the same screen.
    pub fn beside_stdout() -> Self {
        Self::shown_if(std::io::stderr().is_terminal() && !std::io::stdout().is_terminal())
    }

    fn shown_if(shown: bool) -> Self {
        Self {
            bar: if shown {
                ProgressBar::new(0)
            } else {
                ProgressBar::hidden()
            },
            shape: None,
        }
    }

    fn shape(&mut self, shape: Shape) {
        if self.shape == Some(shape) || self.bar.is_hidden() {
            return;
        }
        let template = match shape {
            Shape::Items => "[{bar:30}] {pos}/{len} {msg}",
            Shape::Bytes => {
                "{spinner} {elapsed_precise} [{wide_bar}] {percent:>3}% {msg} ETA {eta}"
            }
        };
        // The templates are constants; a bad one would only lose the styling.
        if let Ok(style) = ProgressStyle::with_template(template) {
            self.bar.set_style(style.progress_chars("=> "));
        }
        self.shape = Some(shape);
    }

    /// Shows a bar: `[=====>    ] 12/40 label`.
    pub fn bar(&mut self, label: &str, done: usize, total: usize) {
        self.shape(Shape::Items);
        self.bar.set_message(label.to_owned());
        self.bar.set_length(total as u64);
        self.bar.set_position(done as u64);
    }

    /// Shows bytes done of a known total, with a message, the elapsed time and an estimate.
    pub fn bytes(&mut self, message: String, done: u64, total: u64) {
        self.shape(Shape::Bytes);
        self.bar.set_message(message);
        self.bar.set_length(total);
        self.bar.set_position(done);
    }

    /// True when nothing is drawn (stderr is not a terminal).
    pub fn is_hidden(&self) -> bool {
        self.bar.is_hidden()
    }

    /// Runs `write` with the bar lifted, so a line written to the terminal is not drawn over.
    pub fn suspend<T>(&self, write: impl FnOnce() -> T) -> T {
        self.bar.suspend(write)
    }

    /// Clears the display; the next update starts a new one (a finished indicatif bar stays
    /// finished).
    pub fn finish(&mut self) {
        let shown = !self.bar.is_hidden();
        self.bar.finish_and_clear();
        *self = Self::shown_if(shown);
    }
}

/// The bare bar, for a command that updates it from several tasks at once (`scan` shares one
/// clone per account and region); hidden when stderr is not a terminal.
pub fn terminal_bar() -> ProgressBar {
    let mut progress = Progress::for_stderr();
    progress.shape(Shape::Bytes);
    progress.bar
}
