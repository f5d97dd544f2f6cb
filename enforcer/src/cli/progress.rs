//! A progress line on stderr, drawn only when stderr is a terminal.

use std::io::{IsTerminal, Write};

/// Redraws one line on stderr; silent when stderr is not a terminal.
#[derive(Debug)]
pub struct Progress {
    enabled: bool,
    drawn: bool,
}

impl Progress {
    /// A progress line, on when stderr is a terminal.
    pub fn for_stderr() -> Self {
        Self {
            enabled: std::io::stderr().is_terminal(),
            drawn: false,
        }
    }

    /// Shows a count without a known total.
    pub fn count(&mut self, label: &str, done: usize) {
        self.draw(&format!("{label} {done}"));
    }

    /// Shows a bar: `[=====>    ] 12/40 label`.
    pub fn bar(&mut self, label: &str, done: usize, total: usize) {
        const WIDTH: usize = 30;
        let filled = (done.min(total) * WIDTH)
            .checked_div(total)
            .unwrap_or(WIDTH);
        let mut bar = "=".repeat(filled);
        if filled < WIDTH {
            bar.push('>');
            bar.push_str(&" ".repeat(WIDTH - filled - 1));
        }
        self.draw(&format!("[{bar}] {done}/{total} {label}"));
    }

    fn draw(&mut self, text: &str) {
        if self.enabled {
            let mut err = std::io::stderr().lock();
            // Errors drawing progress are not worth failing a scan for.
            let _ = write!(err, "\r\x1b[2K{text}");
            let _ = err.flush();
            self.drawn = true;
        }
    }

    /// Clears the line.
    pub fn finish(&mut self) {
        if self.enabled && self.drawn {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
            self.drawn = false;
        }
    }
}
