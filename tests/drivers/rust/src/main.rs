//! Connects with one Rust driver, sqlx or tokio-postgres (the first argument), to each connection
//! string read from standard input, one per line, and prints one JSON line per string:
//! `{"ok":true,"ssl":BOOL}` or `{"ok":false,"error":"..."}`. pgtls's driver tests run it.
//!
//! tokio-postgres connects through postgres-openssl's `MakeTlsConnector` over
//! `SslConnector::builder(SslMethod::tls())` as its documentation shows: OpenSSL's default store
//! (`SSL_CERT_FILE`, `SSL_CERT_DIR`) and host-name check. A line may start with
//! `SSL_CERT_FILE=PATH` and a tab, which sets that variable for the line's connection.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const QUERY: &str = "select ssl from pg_stat_ssl where pid = pg_backend_pid()";

async fn sqlx(s: &str) -> Result<bool, String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(s)
        .await
        .map_err(|e| e.to_string())?;
    let ssl: bool = sqlx::query_scalar(QUERY)
        .fetch_one(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let _ = conn.close().await;
    Ok(ssl)
}

async fn tokio_postgres(s: &str) -> Result<bool, String> {
    use openssl::ssl::{SslConnector, SslMethod};
    let builder = SslConnector::builder(SslMethod::tls()).map_err(|e| e.to_string())?;
    let tls = postgres_openssl::MakeTlsConnector::new(builder.build());
    let (client, connection) = tokio_postgres::connect(s, tls)
        .await
        .map_err(|e| format!("{e}: {}", source_chain(&e)))?;
    let task = tokio::spawn(connection);
    let row = client
        .query_one(QUERY, &[])
        .await
        .map_err(|e| e.to_string())?;
    drop(client);
    let _ = task.await;
    Ok(row.get(0))
}

/// The causes under an error, which tokio-postgres's own text leaves out.
fn source_chain(e: &dyn std::error::Error) -> String {
    let mut parts = Vec::new();
    let mut cause = e.source();
    while let Some(c) = cause {
        parts.push(c.to_string());
        cause = c.source();
    }
    parts.join(": ")
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let driver = std::env::args().nth(1).unwrap_or_default();
    if driver != "sqlx" && driver != "tokio-postgres" {
        eprintln!("usage: pgtls-driver-probe sqlx|tokio-postgres < strings");
        std::process::exit(2);
    }
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut out = tokio::io::stdout();
    while let Ok(Some(line)) = lines.next_line().await {
        let s = match line.split_once('\t') {
            Some((setting, s)) if setting.starts_with("SSL_CERT_FILE=") => {
                // SAFETY: one thread; nothing else reads the environment meanwhile.
                unsafe { std::env::set_var("SSL_CERT_FILE", &setting["SSL_CERT_FILE=".len()..]) };
                s
            }
            _ => {
                // SAFETY: as above.
                unsafe { std::env::remove_var("SSL_CERT_FILE") };
                line.as_str()
            }
        };
        let attempt = async {
            match driver.as_str() {
                "sqlx" => sqlx(s).await,
                _ => tokio_postgres(s).await,
            }
        };
        let verdict: Value = match tokio::time::timeout(Duration::from_secs(5), attempt).await {
            Ok(Ok(ssl)) => json!({"ok": true, "ssl": ssl}),
            Ok(Err(error)) => json!({"ok": false, "error": error}),
            Err(_) => json!({"ok": false, "error": "timed out after 5 s"}),
        };
        let text = format!("{verdict}\n");
        if out.write_all(text.as_bytes()).await.is_err() || out.flush().await.is_err() {
            std::process::exit(1);
        }
    }
}
