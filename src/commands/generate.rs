//! `pgtls completions` and `pgtls man`: generated from the command definitions.

use std::io::Write;

use crate::error::Error;
use crate::exit::Code;

/// `pgtls completions SHELL`: the completion script, generated from the command definitions.
///
/// # Errors
/// Output that cannot be written.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> Result<Code, Error> {
    let mut command = <crate::cli::Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut command, "pgtls", out);
    Ok(Code::Ok)
}

/// `pgtls man`: the manual page, generated from the command definitions, subcommands included.
///
/// # Errors
/// Output that cannot be written.
pub fn man(out: &mut dyn Write) -> Result<Code, Error> {
    let command = <crate::cli::Cli as clap::CommandFactory>::command();
    let page = clap_mangen::Man::new(command.clone());
    page.render_title(out)?;
    page.render_name_section(out)?;
    page.render_synopsis_section(out)?;
    page.render_description_section(out)?;
    page.render_options_section(out)?;
    // The commands are sections of this page, not pages of their own as clap_mangen would name them.
    writeln!(out, ".SH COMMANDS")?;
    for sub in command.get_subcommands() {
        let about = sub.get_about().map(ToString::to_string).unwrap_or_default();
        writeln!(
            out,
            ".TP\n\\fBpgtls {}\\fR\n{}",
            sub.get_name(),
            about.replace('-', "\\-")
        )?;
    }
    // The exit codes as a section of their own rather than `--help`'s closing text.
    writeln!(out, ".SH \"EXIT STATUS\"")?;
    writeln!(
        out,
        "With several targets, the exit code is the largest of theirs."
    )?;
    for (code, meaning) in crate::exit::MEANINGS {
        writeln!(out, ".TP\n{}\n{meaning}", code as u8)?;
    }
    page.render_version_section(out)?;
    for sub in command
        .get_subcommands()
        .filter(|s| !matches!(s.get_name(), "completions" | "man"))
    {
        writeln!(out, ".SH \"PGTLS {}\"", sub.get_name().to_uppercase())?;
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            writeln!(out, "{}", about.to_string().replace('\n', "\n.PP\n"))?;
        }
        let page = clap_mangen::Man::new(sub.clone().bin_name(format!("pgtls {}", sub.get_name())));
        page.render_synopsis_section(out)?;
        page.render_options_section(out)?;
    }
    Ok(Code::Ok)
}
