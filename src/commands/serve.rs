//! `pgtls serve`: the flags turned into the exporter's options.

use crate::cli::ServeArgs;
use crate::config::Environment;
use crate::error::Error;
use crate::exit::Code;
use crate::serve::{self, config};

/// `pgtls serve`.
///
/// # Errors
/// A configuration that cannot be used, or an address that cannot be listened on.
pub fn serve(args: ServeArgs, env: &Environment) -> Result<Code, Error> {
    let options = serve::Options {
        flags: config::Flags {
            file: args.config,
            targets: args.targets,
            max_probes: args.max_probes.map(|n| n as usize),
            enable_reload: args.enable_reload,
            default_module: args.run,
        },
        listen: args.listen,
        check_only: args.check_config,
        profiles: super::load_profiles(&[], false, env)?,
    };
    Ok(serve::serve(options, env)?)
}
