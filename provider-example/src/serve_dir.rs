//! `pulumi-resource-local serve-dir DIR PORT`: a tiny HTTP/1.1 file server, the process a
//! [`StaticSite`](crate::static_site::StaticSite)'s `Service` runs.
//!
//! It binds 127.0.0.1 only, answers `GET` (and `HEAD`) with the file under `DIR` that the path
//! names (`/` is `index.html`), `404` for anything else and `400` for a path that leaves
//! `DIR`. It writes nothing to stdout (a provider's stdout belongs to its port line) and
//! nothing to stderr unless it cannot start. It runs until it is killed, which is what
//! deleting the `Service` does. Using the plugin binary itself keeps the example free of any
//! outside dependency.
//!
//! [`get`] is the matching minimal client, used by the `getFile` method.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// The subcommand's name.
pub const SUBCOMMAND: &str = "serve-dir";

/// How long a connection may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the server for `args` (`DIR PORT`, after the subcommand); returns only on error.
pub fn main(args: &[String]) -> std::process::ExitCode {
    let (dir, port) = match args {
        [dir, port] => match port.parse::<u16>() {
            Ok(port) => (PathBuf::from(dir), port),
            Err(_) => {
                return usage(&format!(
                    "PORT must be a number from 1 to 65535, got {port:?}"
                ));
            }
        },
        _ => return usage("expected exactly two arguments"),
    };
    if !dir.is_dir() {
        return usage(&format!("{} is not a directory", dir.display()));
    }
    let listener = match TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("serve-dir: cannot listen on 127.0.0.1:{port}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    for stream in listener.incoming().flatten() {
        let dir = dir.clone();
        // One thread per connection: a slow client does not hold up the others.
        std::thread::spawn(move || {
            let _ = answer(stream, &dir);
        });
    }
    std::process::ExitCode::FAILURE
}

fn usage(problem: &str) -> std::process::ExitCode {
    eprintln!("usage: pulumi-resource-local {SUBCOMMAND} DIR PORT ({problem})");
    std::process::ExitCode::from(2)
}

/// The file under `dir` that the request path names, or `None` when the path leaves `dir`.
fn file_for(dir: &Path, request_path: &str) -> Option<PathBuf> {
    let path = request_path.split(['?', '#']).next().unwrap_or("");
    let relative = path.trim_start_matches('/');
    let relative = if relative.is_empty() {
        "index.html"
    } else {
        relative
    };
    let relative = Path::new(relative);
    relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| dir.join(relative))
}

fn answer(stream: TcpStream, dir: &Path) -> std::io::Result<()> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Read the headers to their end; none of them matters here.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, body) = match (method, file_for(dir, path)) {
        ("GET" | "HEAD", Some(file)) => match std::fs::read(&file) {
            Ok(content) if file.is_file() => ("200 OK", content),
            _ => ("404 Not Found", b"not found\n".to_vec()),
        },
        ("GET" | "HEAD", None) => ("400 Bad Request", b"bad path\n".to_vec()),
        _ => ("405 Method Not Allowed", b"GET only\n".to_vec()),
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if method != "HEAD" {
        stream.write_all(&body)?;
    }
    stream.flush()
}

/// `GET http://127.0.0.1:<port>/<path>`: the status code and the body.
pub fn get(port: u16, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    write!(
        stream,
        "GET /{} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n",
        path.trim_start_matches('/')
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("the HTTP response has no end of headers"))?;
    let head = String::from_utf8_lossy(&response[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("the HTTP response has no status"))?;
    Ok((status, response[split + 4..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_directory() {
        let dir = Path::new("/srv/site");
        assert_eq!(file_for(dir, "/"), Some(dir.join("index.html")));
        assert_eq!(file_for(dir, "/a/b.txt?x=1"), Some(dir.join("a/b.txt")));
        assert_eq!(file_for(dir, "/../etc/passwd"), None);
        assert_eq!(file_for(dir, "/a/../../x"), None);
    }
}
