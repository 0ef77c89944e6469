//! A Redis liveness check for `/readyz` (API.md "Running": ready only while the database
//! and, if configured, Redis answer). Redis is not used for anything else yet, so a
//! few lines of RESP over TCP stand in for a client library.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

fn command(parts: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", parts.len()).into_bytes();
    for part in parts {
        out.extend(format!("${}\r\n{part}\r\n", part.len()).into_bytes());
    }
    out
}

/// Sends `AUTH` (when the URL has credentials) and `PING`; `Ok` on `+PONG`.
pub async fn ping(redis_url: &str) -> Result<(), String> {
    let url =
        url::Url::parse(redis_url).map_err(|_| "REDIS_URL is not a redis:// URL".to_owned())?;
    if url.scheme() != "redis" {
        return Err("only redis:// URLs are supported".to_owned());
    }
    let host = url.host_str().unwrap_or("127.0.0.1");
    let port = url.port().unwrap_or(6379);
    let check = async {
        let mut stream = TcpStream::connect((host, port))
            .await
            .map_err(|e| e.to_string())?;
        let mut request = Vec::new();
        if let Some(password) = url.password() {
            let user = url.username();
            request.extend(if user.is_empty() {
                command(&["AUTH", password])
            } else {
                command(&["AUTH", user, password])
            });
        }
        request.extend(command(&["PING"]));
        stream
            .write_all(&request)
            .await
            .map_err(|e| e.to_string())?;
        let mut reply = vec![0u8; 256];
        let mut read = 0;
        while read < reply.len() {
            let n = stream
                .read(&mut reply[read..])
                .await
                .map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            read += n;
            let text = String::from_utf8_lossy(&reply[..read]);
            if text.contains("+PONG") {
                return Ok(());
            }
            if text.starts_with('-') || text.contains("\r\n-") {
                return Err("Redis refused the connection".to_owned());
            }
        }
        Err("Redis did not answer PING".to_owned())
    };
    tokio::time::timeout(Duration::from_secs(2), check)
        .await
        .map_err(|_| "Redis did not answer in time".to_owned())?
}
