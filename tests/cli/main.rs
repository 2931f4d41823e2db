//! Integration tests: the `pgtls` binary run as a user runs it, against libpq as the reference.

mod differential;
mod explain;
mod harness;
