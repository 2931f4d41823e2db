//! Command-line definitions, and nothing else: clap derive types whose doc comments are the help.

use clap::{Parser, Subcommand, ValueEnum};

/// Checks TLS connections to PostgreSQL the way libpq makes them.
#[derive(Debug, Parser)]
#[command(
    name = "pgtls",
    version,
    about,
    max_term_width = 100,
    after_long_help = crate::exit::help_table()
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Connect as libpq would and report how TLS was negotiated and verified.
    ///
    /// Each CONNINFO is a libpq connection string or URI; PG* variables, service files and
    /// ~/.postgresql apply as in libpq. Every host of a multi-host string is checked. With
    /// --client, each is read as that driver reads its own string: a jdbc:postgresql:// URL for
    /// pgjdbc, Host=...;Username=... for Npgsql, a URL or DSN for the others. Without --client, a
    /// jdbc:postgresql: URL selects pgjdbc and a Key=Value; string with Host or Server, Npgsql.
    #[command(after_long_help = crate::exit::help_table())]
    Check(CheckArgs),
    /// Show every connection parameter libpq would use, and where each came from.
    ///
    /// Reads the connection string, PG* environment variables, the service file and the password
    /// file exactly as libpq does, without connecting. Passwords are never shown.
    Explain(ExplainArgs),
    /// List the bundled provider root CAs, or write them as one PEM file for sslrootcert.
    Roots(RootsArgs),
    /// Read PEM or DER certificate files: show each certificate, convert to PEM, lint a root file.
    Inspect(InspectArgs),
    /// Print the JSON Schema of a command's --format json document (check, explain, roots,
    /// inspect).
    Schema(SchemaArgs),
    /// Run a Prometheus exporter: /probe?target=NAME checks a configured target.
    ///
    /// Targets and modules come from a TOML file (--config) or flags. /probe answers in the
    /// Prometheus text format, with blackbox_exporter's probe_* names beside pgtls's own;
    /// /metrics has the exporter's own metrics. SIGHUP or POST /-/reload reloads the
    /// configuration; SIGTERM stops, letting probes under way finish.
    Serve(ServeArgs),
    /// Print a shell completion script (bash, zsh, fish).
    Completions(CompletionsArgs),
    /// Print the manual page (roff), e.g. `pgtls man > /usr/local/share/man/man1/pgtls.1`.
    Man,
}

/// Arguments of `pgtls completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// Arguments of `pgtls roots`.
#[derive(Debug, clap::Args)]
pub struct RootsArgs {
    /// List the profiles, their rules and their roots (what roots does without -o).
    #[arg(long, conflicts_with = "output")]
    pub list: bool,

    /// Only this provider profile (pgtls roots lists them).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Read provider profiles from this TOML file too (repeatable); see docs/roots.md.
    #[arg(long, value_name = "FILE")]
    pub profile_file: Vec<std::path::PathBuf>,

    /// Write the roots as one file ("-" for standard output): PEM, ready for sslrootcert=, or
    /// with --format pkcs12 a Java truststore.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,

    /// Replace an existing output file (and write through a symbolic link there); without it,
    /// an existing file is refused.
    #[arg(long)]
    pub force: bool,

    /// Add to an existing file what it lacks (certificates already in it are skipped) instead
    /// of replacing it: a PEM file, or with --format pkcs12 a JKS or PKCS#12 truststore, whose
    /// entries all stay (--storepass must be its password).
    #[arg(long, conflicts_with = "force")]
    pub append: bool,

    /// Output format: the listing as text or JSON; with -o, pkcs12 writes a PKCS#12 truststore
    /// (javax.net.ssl.trustStore) instead of PEM.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = RootsFormat::Text)]
    pub format: RootsFormat,

    /// The password of the PKCS#12 truststore written with --format pkcs12.
    #[arg(long, value_name = "PASSWORD", default_value = crate::keystore::DEFAULT_PASSWORD, hide_default_value = true)]
    pub storepass: String,
}

/// What `roots` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RootsFormat {
    /// Aligned text for people (the listing; PEM with -o).
    Text,
    /// One JSON document for machines (the listing; PEM with -o).
    Json,
    /// A PKCS#12 truststore for Java (with -o).
    Pkcs12,
}

/// Arguments of `pgtls inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Certificate files: PEM or DER, single certificates or bundles, or Java keystores (JKS,
    /// PKCS#12) such as the JDK's cacerts.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<std::path::PathBuf>,

    /// The password of Java keystores among the files (the JDK's default is changeit).
    #[arg(long, value_name = "PASSWORD", default_value = crate::keystore::DEFAULT_PASSWORD, hide_default_value = true)]
    pub storepass: String,

    /// Convert and combine every certificate into PEM (to standard output, or -o FILE).
    #[arg(long)]
    pub to_pem: bool,

    /// Where --to-pem writes.
    #[arg(short = 'o', long, value_name = "FILE", requires = "to_pem")]
    pub output: Option<std::path::PathBuf>,

    /// Replace an existing output file (and write through a symbolic link there); without it,
    /// an existing file is refused.
    #[arg(long)]
    pub force: bool,

    /// Add to an existing PEM file what it lacks (certificates already in it, by SHA-256
    /// fingerprint, are skipped) instead of replacing it.
    #[arg(long, conflicts_with = "force")]
    pub append: bool,

    /// Judge the files as one root file for sslrootcert; warnings and errors make the exit code
    /// 9, notes (information) do not.
    #[arg(long, conflicts_with = "to_pem")]
    pub lint: bool,

    /// With --lint, also require every root of this provider profile.
    #[arg(long, value_name = "NAME", requires = "lint")]
    pub profile: Option<String>,

    /// Read provider profiles from this TOML file too (repeatable); see docs/roots.md.
    #[arg(long, value_name = "FILE")]
    pub profile_file: Vec<std::path::PathBuf>,

    /// With --lint, warn about certificates expiring within this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub warn_days: u32,

    /// Output format.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = Format::Text)]
    pub format: Format,
}

/// Arguments of `pgtls schema`.
#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Whose document.
    #[arg(value_enum, value_name = "COMMAND")]
    pub document: SchemaDocument,
}

/// The commands with a JSON document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaDocument {
    /// `pgtls check --format json`.
    Check,
    /// `pgtls explain --format json`, with or without `--client`.
    Explain,
    /// `pgtls roots --format json`.
    Roots,
    /// `pgtls inspect --format json`.
    Inspect,
}

/// Arguments of `pgtls serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The configuration file (TOML): modules, targets, allow_any_target, web.
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Where to listen [default: the file's listen, else 127.0.0.1:9819].
    #[arg(long, value_name = "ADDRESS:PORT")]
    pub listen: Option<std::net::SocketAddr>,
    /// A target, as NAME=CONNINFO (repeatable; added to the file's). Its password comes from
    /// the environment or the password file, as for libpq.
    #[arg(long = "target", value_name = "NAME=CONNINFO")]
    pub targets: Vec<String>,
    /// Probes that may run at once [default: the file's max_concurrent_probes, else 16].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub max_probes: Option<u32>,
    /// Read and check the configuration (the file and the flags), print a summary and exit: 0
    /// when it can be used, 2 with the reason when not.
    #[arg(long)]
    pub check_config: bool,
    /// Let `POST /-/reload` reload the configuration (as `enable_reload` under `[web]`); SIGHUP
    /// always does.
    #[arg(long)]
    pub enable_reload: bool,
    /// The default module's settings, over the file's.
    #[command(flatten)]
    pub run: crate::run::RunArgs,
}

/// Arguments of `pgtls check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Connection strings: libpq's `key=value ...` or `postgresql://` URIs; a
    /// `jdbc:postgresql://` URL (pgjdbc) or `Host=...;Username=...` (Npgsql); with --client, that
    /// driver's own form. With none (and no --targets), the environment alone, as for psql.
    #[arg(value_name = "CONNINFO")]
    pub conninfo: Vec<String>,

    /// How each target is checked and judged.
    #[command(flatten)]
    pub run: crate::run::RunArgs,

    /// Read more connection strings from FILE, one per line ("-" for standard input); blank
    /// lines and lines starting with # are skipped.
    #[arg(long, value_name = "FILE")]
    pub targets: Option<std::path::PathBuf>,

    /// The certificate the server should be serving (PEM or DER; a leaf, or the chain it
    /// should send): another one served is the error served_certificate_differs (exit 9), as
    /// after a rotation the server has not reloaded.
    #[arg(long, value_name = "FILE")]
    pub expect_cert: Option<std::path::PathBuf>,

    /// More names clients reach the server by (the -rw, -ro and pooler services): each is
    /// checked against the served certificate by the rules of the client judged, on the same
    /// connection; one verify-full would refuse is the error name_not_covered (exit 9).
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pub also_names: Vec<String>,

    /// With --audit: ask the server for its certificate under each of these names by SNI, and
    /// without SNI (PostgreSQL 19 serves one per name, pg_hosts.conf); a name whose certificate
    /// does not cover it is the error sni_name_not_covered.
    #[arg(
        long,
        value_name = "NAME,...",
        value_delimiter = ',',
        requires = "audit"
    )]
    pub sni_names: Vec<String>,

    /// How many hosts to check at once.
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,

    /// Output format.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,

    /// The order of text lines and jsonl objects: input, or as each target finishes (the hosts
    /// of one string together) [default: input for text, finish for jsonl]; documents (json,
    /// prometheus, junit) are always in input order.
    #[arg(long, value_enum, value_name = "ORDER")]
    pub order: Option<OrderArg>,

    /// No progress line on stderr (it is drawn only on a terminal, and not with NO_COLOR).
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// More detail in the text report: the round trips each check took.
    #[arg(long, short = 'v')]
    pub verbose: bool,

    /// Write the certificate chain the server presented (each target's, in order) as PEM.
    #[arg(long, value_name = "FILE")]
    pub save_chain: Option<std::path::PathBuf>,

    /// Write the chain file through a symbolic link at its path (its target is replaced);
    /// without it, a link there is refused.
    #[arg(long)]
    pub force: bool,

    /// Read provider profiles from this TOML file too (repeatable): its host-name suffixes name
    /// the provider, its roots join the trust diagnosis; see docs/roots.md.
    #[arg(long, value_name = "FILE")]
    pub profile_file: Vec<std::path::PathBuf>,
}

/// Arguments of `pgtls explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// A libpq connection string: `key=value ...` or a `postgresql://` URI. Empty or absent
    /// means "from the environment alone", as for psql.
    #[arg(value_name = "CONNINFO", default_value = "")]
    pub conninfo: String,

    /// Output format.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = Format::Text)]
    pub format: Format,

    /// Show only what the string itself sets, as libpq's PQconninfoParse reads it: no
    /// environment, service file, defaults or validation.
    #[arg(long)]
    pub parse_only: bool,

    /// Explain the string as this client reads it and what it will do with it (libpq,
    /// pgjdbc, node-postgres, asyncpg, npgsql, pgx, lib-pq, sqlx, tokio-postgres, or all;
    /// NAME@LINE for an older line such as pgjdbc@42.5); without it, a jdbc:postgresql: URL
    /// means pgjdbc and a Key=Value; string with Host or Server means npgsql.
    #[arg(long, value_name = "NAME", value_parser = clap::value_parser!(crate::clients::ClientChoice), conflicts_with = "parse_only")]
    pub client: Option<crate::clients::ClientChoice>,
}

/// Output formats of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Text for people: full detail for one target, one line each for several.
    Text,
    /// One JSON document.
    Json,
    /// One JSON object per line and target, as each is decided (the objects of json's targets).
    Jsonl,
    /// Prometheus text exposition, for node_exporter's textfile collector.
    Prometheus,
    /// JUnit XML, one test case per target.
    Junit,
}

/// `--order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OrderArg {
    /// Input order.
    Input,
    /// As targets finish.
    Finish,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned text for people.
    Text,
    /// One JSON document for machines.
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn explain_takes_an_optional_conninfo_and_a_format() {
        let cli = Cli::try_parse_from(["pgtls", "explain", "host=x", "--format", "json"]).unwrap();
        let Command::Explain(args) = cli.command else {
            panic!("explain parses as explain");
        };
        assert_eq!(args.conninfo, "host=x");
        assert!(Cli::try_parse_from(["pgtls", "completions", "zsh"]).is_ok());
        assert!(Cli::try_parse_from(["pgtls", "completions", "tcsh"]).is_err());
        assert_eq!(args.format, Format::Json);
        let cli = Cli::try_parse_from(["pgtls", "explain"]).unwrap();
        let Command::Explain(args) = cli.command else {
            panic!("explain parses as explain");
        };
        assert_eq!(args.conninfo, "");
        assert!(Cli::try_parse_from(["pgtls", "explain", "--format", "yaml"]).is_err());
    }
}

#[cfg(test)]
mod check_tests {
    use super::*;

    #[test]
    fn check_takes_several_strings_a_format_and_a_timeout() {
        let cli =
            Cli::try_parse_from(["pgtls", "check", "host=a", "host=b", "--timeout", "3"]).unwrap();
        let Command::Check(args) = cli.command else {
            panic!("check parses as check");
        };
        assert_eq!(args.conninfo, ["host=a", "host=b"]);
        assert_eq!(args.concurrency, 32);
        assert_eq!(args.run.timeout, Some(3.0));
        assert!(Cli::try_parse_from(["pgtls", "check", "--timeout", "0"]).is_err());
    }
}
