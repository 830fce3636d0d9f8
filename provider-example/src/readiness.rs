//! Readiness checks for a [`crate::service`]: a TCP port that accepts connections, or an HTTP
//! URL that answers with a 2xx or 3xx status. Plain Rust over tokio, with a tiny HTTP/1.0
//! client (plain `http://` only) so the provider needs no HTTP library.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What "ready" means for a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Check {
    /// `host:port` accepts a TCP connection.
    Tcp { host: String, port: u16 },
    /// `GET http://host:port/path` answers 2xx or 3xx.
    Http {
        url: String,
        host: String,
        port: u16,
        path: String,
    },
}

impl Check {
    /// A TCP check of `port` on 127.0.0.1.
    pub fn tcp(port: u16) -> Check {
        Check::Tcp {
            host: "127.0.0.1".into(),
            port,
        }
    }

    /// An HTTP check of `url`, which must be `http://host[:port][/path]`.
    pub fn http(url: &str) -> std::result::Result<Check, String> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            format!("`readyUrl` must start with http:// (https is not supported by this check), got {url:?}")
        })?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| format!("`readyUrl` {url:?} has an invalid port {p:?}"))?,
            ),
            None => (authority, 80),
        };
        if host.is_empty() {
            return Err(format!("`readyUrl` {url:?} has no host"));
        }
        Ok(Check::Http {
            url: url.to_string(),
            host: host.to_string(),
            port,
            path: path.to_string(),
        })
    }

    /// Says what is being waited for, for messages.
    pub fn describe(&self) -> String {
        match self {
            Check::Tcp { host, port } => format!("TCP port {host}:{port}"),
            Check::Http { url, .. } => format!("HTTP {url}"),
        }
    }

    /// One attempt: `Ok` when ready, otherwise why not.
    pub async fn probe(&self) -> std::result::Result<(), String> {
        match tokio::time::timeout(PROBE_TIMEOUT, self.probe_once()).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "{} did not answer within {} s",
                self.describe(),
                PROBE_TIMEOUT.as_secs()
            )),
        }
    }

    async fn probe_once(&self) -> std::result::Result<(), String> {
        match self {
            Check::Tcp { host, port } => TcpStream::connect((host.as_str(), *port))
                .await
                .map(drop)
                .map_err(|e| format!("{} refused the connection: {e}", self.describe())),
            Check::Http {
                url,
                host,
                port,
                path,
            } => {
                let mut stream = TcpStream::connect((host.as_str(), *port))
                    .await
                    .map_err(|e| format!("HTTP {url}: cannot connect: {e}"))?;
                let request =
                    format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n");
                stream
                    .write_all(request.as_bytes())
                    .await
                    .map_err(|e| format!("HTTP {url}: {e}"))?;
                let mut head = Vec::new();
                let mut buf = [0u8; 512];
                while !head.contains(&b'\n') && head.len() < 4096 {
                    match stream.read(&mut buf).await {
                        Ok(0) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                        Err(e) => return Err(format!("HTTP {url}: {e}")),
                    }
                }
                let line = String::from_utf8_lossy(&head);
                let status = line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse::<u16>().ok());
                match status {
                    Some(code) if (200..400).contains(&code) => Ok(()),
                    Some(code) => Err(format!("HTTP {url} answered with status {code}")),
                    None => Err(format!(
                        "HTTP {url} did not answer with an HTTP status line"
                    )),
                }
            }
        }
    }
}

/// How waiting for readiness ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The check passed.
    Ready,
    /// The process is not running any more; why.
    Exited(String),
    /// The process runs but the check never passed within the time allowed; the last reason.
    NotReady(String),
    /// The wait was cancelled.
    Cancelled,
}

/// Probes `check` every 200 ms until it passes, the process `pid` (started at `start_ticks`)
/// stops running, `within` elapses, or `cancelled` completes. When the provider started the
/// process itself, `child` lets it report the exit status.
pub(crate) async fn wait_ready(
    pid: i32,
    start_ticks: Option<u64>,
    mut child: Option<&mut tokio::process::Child>,
    check: &Check,
    within: Duration,
    cancelled: impl std::future::Future<Output = ()>,
) -> Outcome {
    let deadline = tokio::time::Instant::now() + within;
    let waiting = async {
        let mut last = format!("{} was not checked", check.describe());
        loop {
            if let Some(child) = child.as_deref_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Outcome::Exited(format!(
                        "process {pid} exited ({status}) before {} was ready",
                        check.describe()
                    ));
                }
            } else if !crate::process::is_alive(pid, start_ticks) {
                return Outcome::Exited(format!("process {pid} is no longer running"));
            }
            match check.probe().await {
                Ok(()) => return Outcome::Ready,
                Err(reason) => last = reason,
            }
            if tokio::time::Instant::now() >= deadline {
                return Outcome::NotReady(last);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    tokio::select! {
        outcome = waiting => outcome,
        _ = cancelled => Outcome::Cancelled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[test]
    fn parses_http_urls() {
        assert_eq!(
            Check::http("http://127.0.0.1:8080/health").unwrap(),
            Check::Http {
                url: "http://127.0.0.1:8080/health".into(),
                host: "127.0.0.1".into(),
                port: 8080,
                path: "/health".into()
            }
        );
        assert!(
            matches!(Check::http("http://localhost").unwrap(), Check::Http { port: 80, ref path, .. } if path == "/")
        );
        assert!(Check::http("https://x").unwrap_err().contains("readyUrl"));
        assert!(Check::http("http://x:notaport/").is_err());
    }

    #[tokio::test]
    async fn tcp_probe_sees_a_listener() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(Check::tcp(port).probe().await.is_ok());
        drop(listener);
        assert!(
            Check::tcp(port)
                .probe()
                .await
                .unwrap_err()
                .contains(&port.to_string())
        );
    }

    #[tokio::test]
    async fn http_probe_reads_the_status() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            for status in ["200 OK", "503 Service Unavailable"] {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await.unwrap();
                s.write_all(format!("HTTP/1.0 {status}\r\n\r\n").as_bytes())
                    .await
                    .unwrap();
            }
        });
        let check = Check::http(&format!("http://127.0.0.1:{port}/")).unwrap();
        assert_eq!(check.probe().await, Ok(()));
        assert!(check.probe().await.unwrap_err().contains("503"));
        server.await.unwrap();
    }

    #[tokio::test]
    async fn waiting_ends_ready_exited_not_ready_or_cancelled() {
        let me = std::process::id() as i32;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = Check::tcp(listener.local_addr().unwrap().port());
        let forever = std::future::pending::<()>;
        assert_eq!(
            wait_ready(me, None, None, &open, Duration::from_secs(30), forever()).await,
            Outcome::Ready
        );

        let closed = {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            Check::tcp(l.local_addr().unwrap().port())
        };
        match wait_ready(
            me,
            None,
            None,
            &closed,
            Duration::from_millis(500),
            forever(),
        )
        .await
        {
            Outcome::NotReady(reason) => assert!(reason.contains("refused"), "{reason}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            wait_ready(me, None, None, &closed, Duration::from_secs(60), async {}).await,
            Outcome::Cancelled
        );

        let mut child = tokio::process::Command::new("/bin/sh")
            .arg("-c")
            .arg("exit 7")
            .spawn()
            .unwrap();
        let pid = child.id().unwrap() as i32;
        match wait_ready(
            pid,
            None,
            Some(&mut child),
            &closed,
            Duration::from_secs(60),
            forever(),
        )
        .await
        {
            Outcome::Exited(reason) => assert!(reason.contains('7'), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
}
