//! Logging: human-readable lines in development, JSON lines with
//! `LOG_FORMAT=json`, on standard error. The server hands its lines to a
//! writer thread ([`init_server`]) so that a request never waits for the
//! write; the admin commands write directly ([`init`]).

use std::io::{BufWriter, IsTerminal, Write};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};

use motcua_app::settings::{LogFormat, Settings};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Lines waiting for the writer thread at most; a request logging beyond
/// that waits for room rather than dropping its line.
const QUEUED_LINES: usize = 16_384;

/// Logs with each line written to standard error by the thread that logs it.
/// `RUST_LOG` overrides the configured level.
pub fn init(settings: &Settings) {
    install(settings, std::io::stderr);
}

/// Logs through a writer thread: a request's line goes into a queue (one
/// copy, no system call, no lock held across a write) and the thread writes
/// whatever has queued up in one go. Nothing is dropped: when the queue is
/// full the logging thread waits. Keep the guard until the process ends:
/// dropping it writes out what is queued.
#[must_use = "dropping the guard stops the log writer"]
pub fn init_server(settings: &Settings) -> LogGuard {
    let (lines, queue) = std::sync::mpsc::sync_channel(QUEUED_LINES);
    let writer = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || write_lines(&queue))
        .map_err(|e| eprintln!("no log writer thread ({e}); logging directly"))
        .ok();
    let guard = LogGuard {
        lines: lines.clone(),
        writer,
    };
    if guard.writer.is_some() {
        install(settings, QueuedWriter { lines });
    } else {
        install(settings, std::io::stderr);
    }
    guard
}

fn install<W>(settings: &Settings, writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colour codes only for a terminal, not into files or the journal.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer);
    let installed = match settings.log.format {
        LogFormat::Json => tracing::subscriber::set_global_default(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
        LogFormat::Human => tracing::subscriber::set_global_default(builder.finish()),
    };
    if let Err(e) = installed {
        eprintln!("logging already initialised: {e}");
        return;
    }
    // Libraries logging through `log` join in, except the HTTP client and TLS:
    // they write whole URLs, and gateway URLs carry signatures.
    if let Err(e) = tracing_log::LogTracer::builder()
        .ignore_crate("ureq")
        .ignore_crate("ureq_proto")
        .ignore_crate("rustls")
        .init()
    {
        eprintln!("log bridge already initialised: {e}");
    }
}

enum Message {
    Line(Vec<u8>),
    /// Write out what is queued and stop.
    Stop,
}

/// Keeps the log writer thread; dropping it flushes the queue and stops the
/// thread (lines logged afterwards go straight to standard error).
pub struct LogGuard {
    lines: SyncSender<Message>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        if let Some(writer) = self.writer.take()
            && self.lines.send(Message::Stop).is_ok()
        {
            let _ = writer.join();
        }
    }
}

/// The writer thread: writes lines as they come, in batches when several
/// are queued, and flushes whenever the queue is empty, so a line is out as
/// soon as the thread gets to it.
fn write_lines(queue: &Receiver<Message>) {
    let mut out = BufWriter::with_capacity(64 * 1024, std::io::stderr());
    while let Ok(first) = queue.recv() {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Line(line) => {
                    let _ = out.write_all(&line);
                }
                Message::Stop => {
                    let _ = out.flush();
                    return;
                }
            }
            next = queue.try_recv().ok();
        }
        let _ = out.flush();
    }
    let _ = out.flush();
}

/// What the formatter writes each line to: the writer thread's queue.
#[derive(Clone)]
struct QueuedWriter {
    lines: SyncSender<Message>,
}

impl<'a> MakeWriter<'a> for QueuedWriter {
    type Writer = QueuedWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Write for QueuedWriter {
    /// The formatter hands over a whole line in one call.
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let line = match self.lines.try_send(Message::Line(buf.to_vec())) {
            Ok(()) => return Ok(buf.len()),
            Err(TrySendError::Full(line)) => line,
            Err(TrySendError::Disconnected(_)) => {
                // The writer has stopped (shutting down): write it ourselves.
                return std::io::stderr().write_all(buf).map(|()| buf.len());
            }
        };
        // The queue is full: wait for room rather than lose the line.
        match self.lines.send(line) {
            Ok(()) => Ok(buf.len()),
            Err(_) => std::io::stderr().write_all(buf).map(|()| buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_lines_are_written_in_order_and_all_flushed_on_stop() {
        let (lines, queue) = std::sync::mpsc::sync_channel(2);
        let mut writer = QueuedWriter { lines };
        let received = std::thread::spawn(move || {
            let mut got = Vec::new();
            while let Ok(Message::Line(line)) = queue.recv() {
                got.push(String::from_utf8(line).unwrap());
            }
            got
        });
        // More lines than the queue holds: the writer waits, nothing is lost.
        for i in 0..10 {
            writer.write_all(format!("line {i}\n").as_bytes()).unwrap();
        }
        writer.lines.send(Message::Stop).unwrap();
        let got = received.join().unwrap();
        let want: Vec<String> = (0..10).map(|i| format!("line {i}\n")).collect();
        assert_eq!(got, want);
    }
}
