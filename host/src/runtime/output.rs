//! A bot's stdout and stderr, turned into `tracing` lines tagged with the
//! bot's name. Output is cut at a per-invocation budget instead of trapping
//! the bot, so a chatty bot cannot flood the log.
//!
//! WASI writes the streams from a task of its own, outside the spans the
//! invocation runs in; each line is emitted under the span that was
//! current when the stream was made (the invocation's, inside its event's),
//! so that it carries the ticket too.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// One of a bot's output streams.
#[derive(Clone)]
pub struct BotOutput {
    inner: Arc<Mutex<Lines>>,
}

struct Lines {
    bot: Arc<str>,
    span: tracing::Span,
    stream: &'static str,
    partial: Vec<u8>,
    budget: usize,
    cut: bool,
}

impl BotOutput {
    /// `budget` bytes are logged; the rest is dropped with one notice.
    pub fn new(bot: Arc<str>, stream: &'static str, budget: usize) -> Self {
        BotOutput {
            inner: Arc::new(Mutex::new(Lines {
                bot,
                span: tracing::Span::current(),
                stream,
                partial: Vec::new(),
                budget,
                cut: false,
            })),
        }
    }

    /// Logs what is left without a final newline; call when the invocation ends.
    pub fn flush_rest(&self) {
        if let Ok(mut lines) = self.inner.lock()
            && !lines.partial.is_empty()
        {
            let rest = std::mem::take(&mut lines.partial);
            lines.emit(&rest);
        }
    }
}

impl Lines {
    fn write(&mut self, buf: &[u8]) {
        if self.budget == 0 {
            if !self.cut {
                self.cut = true;
                tracing::warn!(parent: &self.span, bot = %self.bot, stream = self.stream, "bot output over budget; the rest is dropped");
            }
            return;
        }
        let take = buf.len().min(self.budget);
        self.budget -= take;
        self.partial.extend_from_slice(&buf[..take]);
        while let Some(end) = self.partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            self.emit(&line[..line.len() - 1]);
        }
    }

    fn emit(&self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        tracing::info!(parent: &self.span, bot = %self.bot, stream = self.stream, "{text}");
    }
}

impl IsTerminal for BotOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for BotOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for BotOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Ok(mut lines) = self.inner.lock() {
            lines.write(buf);
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
