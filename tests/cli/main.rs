//! Integration tests: the `pgtls` binary run as a user runs it, against libpq as the reference.

mod audit;
mod auth;
mod check;
mod clients;
mod deadlines;
mod differential;
mod drivers;
mod expiry;
mod explain;
mod fake;
mod fleet;
mod harness;
mod hostile;
mod keystore;
mod local;
mod login;
mod pki;
mod readme;
mod report;
mod schema;
mod secrets;
mod serve;
mod server;
mod stream;
mod troubleshooting;
mod trust;
