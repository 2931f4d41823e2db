//! pgtls checks TLS connections to PostgreSQL the way libpq makes them. The library holds every
//! part; the `pgtls` binary is a thin layer over it. Modules are `pub(crate)` unless the binary,
//! the fuzz targets or the integration tests need them (see ARCHITECTURE.md).

#![forbid(unsafe_code)]

pub mod certinfo;
pub mod cli;
pub mod clients;
pub mod clock;
pub mod commands;
pub mod config;
pub mod conninfo;
pub mod error;
pub mod exit;
pub(crate) mod expect;
pub(crate) mod explain;
pub(crate) mod files;
pub(crate) mod finding_code;
pub(crate) mod fleet;
pub mod inspect;
pub(crate) mod judge;
pub(crate) mod keystore;
pub(crate) mod net;
pub(crate) mod probe;
pub(crate) mod profiles;
pub(crate) mod render;
pub(crate) mod report;
pub mod run;
pub(crate) mod sanitize;
pub(crate) mod serve;
pub mod tls;
