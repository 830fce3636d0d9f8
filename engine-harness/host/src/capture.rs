//! Bytes collected from a plugin's pipe in the background, bounded, with waits on them.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::Notify;

/// What a pipe delivered so far (at most the last `keep` bytes) and whether it reached EOF.
#[derive(Debug)]
pub struct Captured {
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Debug, Default)]
struct State {
    bytes: Vec<u8>,
    closed: bool,
    keep: usize,
}

impl Captured {
    /// An empty capture keeping at most the last `keep` bytes.
    pub fn new(keep: usize) -> Self {
        Captured {
            state: Mutex::new(State {
                keep,
                ..State::default()
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, chunk: &[u8]) {
        {
            let mut s = self.lock();
            s.bytes.extend_from_slice(chunk);
            let excess = s.bytes.len().saturating_sub(s.keep);
            s.bytes.drain(..excess);
        }
        self.changed.notify_waiters();
    }

    /// Marks the pipe closed (EOF or read error).
    pub fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_waiters();
    }

    /// The bytes kept so far and whether the pipe is closed.
    pub fn snapshot(&self) -> (Vec<u8>, bool) {
        let s = self.lock();
        (s.bytes.clone(), s.closed)
    }

    /// The bytes kept so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.lock().bytes).into_owned()
    }

    /// The last `lines` lines kept, as text.
    pub fn last_lines(&self, lines: usize) -> String {
        let text = self.text();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Waits until `done(bytes, closed)` holds or `timeout` passes; returns whether it held.
    pub async fn wait_until(&self, timeout: Duration, done: impl Fn(&[u8], bool) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            {
                let s = self.lock();
                if done(&s.bytes, s.closed) {
                    return true;
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            // The poll interval bounds the cost of a notification missed between check and wait.
            let _ = tokio::time::timeout(left.min(Duration::from_millis(50)), notified).await;
        }
    }

    /// Reads `from` to its end in a background task, into `into`; each complete line also goes
    /// to the debug log, labelled with `label` and `stream`.
    pub fn drain(
        mut from: impl AsyncRead + Unpin + Send + 'static,
        into: std::sync::Arc<Captured>,
        label: String,
        stream: &'static str,
    ) {
        tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            let mut partial: Vec<u8> = Vec::new();
            loop {
                match from.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        into.push(&buf[..n]);
                        if tracing::enabled!(tracing::Level::DEBUG) {
                            partial.extend_from_slice(&buf[..n]);
                            while let Some(at) = partial.iter().position(|b| *b == b'\n') {
                                let line: Vec<u8> = partial.drain(..=at).collect();
                                tracing::debug!(
                                    plugin = %label,
                                    "{stream}: {}",
                                    String::from_utf8_lossy(&line).trim_end()
                                );
                            }
                        }
                    }
                }
            }
            into.close();
        });
    }
}

/// Counts the occurrences of `needle` in `haystack`.
pub fn count(haystack: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() {
        return 0;
    }
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_tail() {
        let c = Captured::new(4);
        c.push(b"abcdef");
        assert_eq!(c.text(), "cdef");
        c.push(b"gh");
        assert_eq!(c.text(), "efgh");
        assert_eq!(count(b"a-a-a", b"a"), 3);
    }
}
