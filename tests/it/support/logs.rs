//! What `tracing` writes while a test runs, to check that a failure is logged.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// The log lines written on this thread while the [`Capture`] lives (at `info` and up).
#[derive(Clone, Default)]
pub(crate) struct Capture {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    /// Starts capturing on this thread (a `#[tokio::test]` and an `#[actix_web::test]`
    /// run on one thread) until the guard is dropped.
    pub(crate) fn start() -> (Capture, tracing::subscriber::DefaultGuard) {
        Capture::start_at(tracing::Level::INFO)
    }

    /// [`start`](Self::start), capturing `level` and up.
    pub(crate) fn start_at(level: tracing::Level) -> (Capture, tracing::subscriber::DefaultGuard) {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(level)
            .finish();
        (capture, tracing::subscriber::set_default(subscriber))
    }

    /// Everything written so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.buffer.lock().unwrap().clone()).unwrap()
    }
}
