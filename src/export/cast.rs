//! asciicast v2 recordings (what the asciinema player plays): a JSON header with the screen's
//! size, start time and title, then one `[seconds, "o", data]` line per piece of terminal
//! output and `[seconds, "r", "WxH"]` per resize.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use ratatui::buffer::Buffer;
use serde_json::json;

pub struct Cast {
    out: BufWriter<File>,
    start: Instant,
}

impl Cast {
    pub fn create(path: &Path, width: u16, height: u16, title: &str) -> std::io::Result<Cast> {
        let mut out = BufWriter::new(super::files::create_streamed(path)?);
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let header = json!({
            "version": 2,
            "width": width,
            "height": height,
            "timestamp": timestamp,
            "title": title,
            "env": {"TERM": std::env::var("TERM").unwrap_or_else(|_| "xterm-256color".into())}
        });
        writeln!(out, "{header}")?;
        Ok(Cast {
            out,
            start: Instant::now(),
        })
    }

    fn event(&mut self, kind: &str, data: &str) -> std::io::Result<()> {
        let t = self.start.elapsed().as_secs_f64();
        writeln!(self.out, "{}", json!([(t * 1e6).round() / 1e6, kind, data]))
    }

    /// Terminal output (bytes are recorded as text; invalid UTF-8 is replaced).
    pub fn output(&mut self, data: &[u8]) -> std::io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        self.event("o", &String::from_utf8_lossy(data))
    }

    pub fn resize(&mut self, width: u16, height: u16) -> std::io::Result<()> {
        self.event("r", &format!("{width}x{height}"))
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// A whole frame as terminal output: clear, then every row with its colours.
pub fn frame_output(buf: &Buffer) -> String {
    let ansi = super::ansi::to_ansi(buf);
    let mut s = String::from("\u{1b}[?25l\u{1b}[H");
    for (i, line) in ansi.lines().enumerate() {
        s.push_str(&format!("\u{1b}[{};1H{line}", i + 1));
    }
    s
}

/// A recording shared between the terminal's writer and whoever notes resizes.
pub type SharedCast = std::sync::Arc<std::sync::Mutex<Option<Cast>>>;

/// Writes terminal output to the real terminal and, when recording, to a cast.
pub struct Tee<W: Write> {
    pub inner: W,
    cast: SharedCast,
    pending: Vec<u8>,
}

impl<W: Write> Tee<W> {
    pub fn new(inner: W, cast: SharedCast) -> Self {
        Tee {
            inner,
            cast,
            pending: Vec::new(),
        }
    }

    fn recording(&self) -> bool {
        self.cast.lock().is_ok_and(|c| c.is_some())
    }
}

impl<W: Write> Write for Tee<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(data)?;
        if self.recording() {
            self.pending.extend_from_slice(&data[..n]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()?;
        if let Ok(mut guard) = self.cast.lock()
            && let Some(c) = guard.as_mut()
        {
            // One event per flushed frame keeps the recording compact.
            c.output(&self.pending)?;
            c.flush()?;
        }
        self.pending.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cast_has_a_v2_header_and_timed_events() {
        let path = std::env::temp_dir().join(format!("mpviz-cast-{}.cast", std::process::id()));
        {
            let mut c = Cast::create(&path, 80, 24, "lock").expect("create");
            c.output(b"hello \x1b[1mworld\x1b[0m").expect("o");
            c.resize(100, 30).expect("r");
            c.flush().expect("flush");
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let _ = std::fs::remove_file(&path);
        let mut lines = text.lines();
        let h: serde_json::Value =
            serde_json::from_str(lines.next().expect("header")).expect("json");
        assert_eq!(
            (
                h["version"].as_u64(),
                h["width"].as_u64(),
                h["height"].as_u64()
            ),
            (Some(2), Some(80), Some(24))
        );
        assert!(h["timestamp"].as_u64().is_some() && h["title"] == "lock");
        let evs: Vec<serde_json::Value> = lines
            .map(|l| serde_json::from_str(l).expect("event"))
            .collect();
        assert_eq!(evs.len(), 2);
        assert_eq!(
            (evs[0][1].as_str(), evs[1][1].as_str(), evs[1][2].as_str()),
            (Some("o"), Some("r"), Some("100x30"))
        );
        assert!(
            evs[0][2]
                .as_str()
                .is_some_and(|s| s.contains("\u{1b}[1mworld"))
        );
        assert!(evs[0][0].as_f64() <= evs[1][0].as_f64());
    }
}
