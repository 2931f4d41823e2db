//! pgtls checks TLS connections to PostgreSQL the way libpq makes them. The library holds every
//! part; the `pgtls` binary is a thin layer over it, and the fuzz targets call its parsers.

#![forbid(unsafe_code)]

pub mod bundled;
pub mod certinfo;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod conninfo;
pub mod error;
pub mod exit;
pub mod explain;
pub mod files;
pub mod fleet;
pub mod inspect;
pub mod judge;
pub mod net;
pub mod probe;
pub mod render;
pub mod report;
pub mod sanitize;
pub mod tls;
