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
    write_reference_sections(out)?;
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

/// Text for roff: backslashes and hyphens escaped, no line starting with a control character.
fn roff(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    match text.starts_with(['.', '\'']) {
        true => format!("\\&{text}"),
        false => text,
    }
}

/// EXAMPLES, ENVIRONMENT (libpq's variables from the keyword table, and the ones pgtls and the
/// other clients' models read), FILES and SEE ALSO.
fn write_reference_sections(out: &mut dyn Write) -> std::io::Result<()> {
    const EXAMPLES: [(&str, &str); 7] = [
        (
            r#"pgtls check "host=db.example.com user=app sslmode=verify-full""#,
            "Check the connection an application makes, as libpq makes it. Without a root file yet, the report still shows the chain and the command that writes the right one.",
        ),
        (
            "pgtls roots --profile azure -o ~/.postgresql/root.crt",
            "Write a provider's root certificates where libpq looks for them.",
        ),
        (
            r#"pgtls check "jdbc:postgresql://db.example.com/app?user=app&sslmode=verify-full""#,
            "Give pgjdbc's verdict for its own URL; --client all gives every driver's side by side.",
        ),
        (
            "pgtls check --targets fleet.txt --format junit > tls.xml",
            "Check a fleet in CI; the exit code is the largest of the targets'.",
        ),
        (
            "pgtls check --targets fleet.txt --format prometheus > pgtls.prom",
            "Write metrics for node_exporter's textfile collector.",
        ),
        (
            r#"pgtls check --audit "host=db.example.com user=app sslmode=require""#,
            "Also probe the protocol versions, cipher suites and groups the server accepts.",
        ),
        (
            r#"pgtls explain "service=prod""#,
            "Show every parameter libpq would use, and where it came from, without connecting.",
        ),
    ];
    writeln!(out, ".SH EXAMPLES")?;
    for (command, what) in EXAMPLES {
        writeln!(out, ".TP\n\\fB{}\\fR\n{}", roff(command), roff(what))?;
    }
    writeln!(out, ".SH ENVIRONMENT")?;
    writeln!(
        out,
        "As in libpq, a parameter the connection string does not set is taken from its variable:"
    )?;
    for keyword in crate::conninfo::KEYWORDS {
        if let Some(var) = keyword.env {
            writeln!(out, ".TP\n\\fB{var}\\fR\n{}", roff(keyword.name))?;
        }
    }
    const OTHERS: [(&str, &str); 9] = [
        (
            "PGSYSCONFDIR",
            "the directory of the system-wide service file pg_service.conf",
        ),
        (
            "HOME",
            "the home directory for ~/.postgresql, ~/.pgpass and ~/.pg_service.conf",
        ),
        (
            "SSL_CERT_FILE",
            "with SSL_CERT_DIR, the system trust store for sslrootcert=system",
        ),
        ("SSL_CERT_DIR", "see SSL_CERT_FILE"),
        (
            "JAVA_TOOL_OPTIONS",
            "with JDK_JAVA_OPTIONS: -Djavax.net.ssl.trustStore and -Djavax.net.ssl.trustStorePassword for pgjdbc's DefaultJavaSSLFactory (--client pgjdbc)",
        ),
        ("JDK_JAVA_OPTIONS", "see JAVA_TOOL_OPTIONS"),
        (
            "JAVA_HOME",
            "the JVM whose lib/security/cacerts is pgjdbc's default truststore",
        ),
        (
            "NODE_EXTRA_CA_CERTS",
            "roots node-postgres trusts besides Node.js's bundled ones (--client node-postgres)",
        ),
        ("NO_COLOR", "no progress line on standard error"),
    ];
    for (var, what) in OTHERS {
        writeln!(out, ".TP\n\\fB{var}\\fR\n{}", roff(what))?;
    }
    const FILES: [(&str, &str); 7] = [
        (
            "~/.postgresql/root.crt",
            "the root certificates libpq trusts when sslrootcert is not set",
        ),
        (
            "~/.postgresql/root.crl",
            "revocation lists libpq checks when sslcrl and sslcrldir are not set",
        ),
        (
            "~/.postgresql/postgresql.crt",
            "the client certificate, with ~/.postgresql/postgresql.key",
        ),
        (
            "~/.pgpass",
            "passwords (PGPASSFILE or passfile elsewhere); used only when mode 0600 or stricter",
        ),
        (
            "~/.pg_service.conf",
            "connection services (PGSERVICEFILE), before PGSYSCONFDIR/pg_service.conf",
        ),
        (
            "docs/*.md",
            "the manual in the source tree: one page per command and per topic (docs/README.md lists them)",
        ),
        (
            "docs/schema/*.json",
            "the JSON Schema of each command's document in the source tree; pgtls schema prints them",
        ),
    ];
    writeln!(out, ".SH FILES")?;
    for (file, what) in FILES {
        writeln!(out, ".TP\n\\fI{}\\fR\n{}", roff(file), roff(what))?;
    }
    writeln!(out, ".SH \"SEE ALSO\"")?;
    writeln!(
        out,
        "\\fBpsql\\fR(1), \\fBopenssl\\-s_client\\fR(1), \\fBkeytool\\fR(1), \\fBpg_service.conf\\fR and the libpq documentation: https://www.postgresql.org/docs/current/libpq\\-ssl.html"
    )
}
