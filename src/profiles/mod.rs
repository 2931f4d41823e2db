//! Provider profiles: for each managed PostgreSQL, the roots its servers chain to (or how to get a
//! per-instance CA), the host-name suffixes, certificate issuers and error texts that identify it,
//! and its rules (needs SNI, certificates named by CN only). The bundled ones are compiled in from
//! `certs/profiles.toml` and `certs/*.pem`; users add their own with `--profile-file FILE` and in
//! `~/.config/pgtls/profiles/*.toml`, in the same format (`file.rs`).
//!
//! A command that uses profiles builds one [`Profiles`] at its start (the bundled ones, then the
//! user's) and passes it down. Debug builds also accept a test profile (`name=FILE`, which the
//! command takes from `PGTLS_TEST_PROFILE`), added or taking the place of the roots of the
//! bundled profile of that name, so tests can stand in for a provider's real roots; release
//! builds do not.

mod file;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rustls::pki_types::CertificateDer;

pub use file::ProfileError;

/// One root of a profile.
#[derive(Debug, Clone)]
pub struct Root {
    /// The root's common name.
    pub name: String,
    /// Its subject, as `certinfo` writes subjects.
    pub subject: String,
    /// Its SHA-256 fingerprint, as `certinfo` writes them.
    pub sha256: String,
    /// The certificate.
    pub der: CertificateDer<'static>,
    /// Whether a root file for the profile must hold it.
    pub need: Need,
}

/// How much a profile's root file needs a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// The provider's servers chain to it today: a root file without it fails.
    Required,
    /// Kept for chains some servers may present (older chains, other regions), with the reason:
    /// a root file without it works for most servers.
    Recommended(String),
    /// One of a set (one per region): a root file needs the one its servers chain to, so at
    /// least one of them; with the reason.
    OneOf(String),
    /// A root the provider has announced its servers will chain to from `date` (YYYY-MM-DD): a
    /// root file that lacks it stops working then.
    Rotation {
        /// The date of the switch.
        date: String,
        /// What the provider announced.
        reason: String,
    },
}

/// Where a profile comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Compiled into pgtls.
    Bundled,
    /// A profile file.
    File(PathBuf),
}

/// A provider profile.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The name used with `--profile`.
    pub name: String,
    /// Which service it is for.
    pub description: String,
    /// Host-name suffixes (lower case, with the leading dot) of the provider's servers.
    pub suffixes: Vec<String>,
    /// Texts the issuer of a server certificate starts with, naming the provider where its
    /// servers are reached by address.
    pub issuers: Vec<String>,
    /// Texts in the provider's own error messages that name it.
    pub errors: Vec<String>,
    /// The ports its servers and poolers listen on.
    pub ports: Vec<u16>,
    /// How to get the CA where it is per instance or per project, with the provider's command.
    pub download: Option<String>,
    /// The provider routes by SNI: how to connect so that it gets a name.
    pub needs_sni: Option<String>,
    /// The provider's server certificates name the server by CN only: what works instead.
    pub cn_only: Option<String>,
    /// The settings the provider lets its users change, in place of the server files a
    /// self-managed server's advice names.
    pub levers: Levers,
    /// Its roots, once read (see `roots`).
    roots: OnceLock<Vec<Root>>,
    /// Bundled root files not read yet, with their need.
    deferred: Vec<(String, Need)>,
    /// Where it was defined.
    pub origin: Origin,
}

/// A managed service's own levers (`[profile.levers]`), each the advice that replaces pgtls's
/// advice for a server one manages oneself.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Levers {
    /// How to refuse connections without TLS (instead of pg_hba.conf's hostssl lines).
    pub plaintext: Option<String>,
    /// How to set the TLS versions the server accepts (instead of postgresql.conf).
    pub protocol: Option<String>,
    /// What to do about legacy cipher suites (instead of restricting ssl_ciphers).
    pub ciphers: Option<String>,
    /// Who renews the server's certificate, and what the user should do (instead of renewing
    /// it on the server).
    pub certificate: Option<String>,
    /// What decides which clients may connect (instead of pg_hba.conf).
    pub access: Option<String>,
}

/// Which of a profile's levers a piece of advice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lever {
    Plaintext,
    Protocol,
    Ciphers,
    Certificate,
    Access,
}

impl Levers {
    /// The advice for `lever`, if the profile has one.
    pub fn get(&self, lever: Lever) -> Option<&str> {
        match lever {
            Lever::Plaintext => self.plaintext.as_deref(),
            Lever::Protocol => self.protocol.as_deref(),
            Lever::Ciphers => self.ciphers.as_deref(),
            Lever::Certificate => self.certificate.as_deref(),
            Lever::Access => self.access.as_deref(),
        }
    }
}

impl Profile {
    /// Its roots. A bundled profile's are read on first use: most checks never need them.
    pub fn roots(&self) -> &[Root] {
        self.roots.get_or_init(|| {
            self.deferred
                .iter()
                .flat_map(|(name, need)| {
                    let pem = FILES
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, pem)| pem)
                        .expect("the bundled profiles name bundled files (tested)");
                    file::roots_of(name, pem.as_bytes(), need)
                        .expect("the bundled roots are self-signed CAs (tested)")
                })
                .collect()
        })
    }

    /// How the report's words name its roots: "the bundled azure roots", "profile corp's roots".
    pub fn roots_phrase(&self) -> String {
        match self.origin {
            Origin::Bundled => format!("the bundled {} roots", self.name),
            Origin::File(_) => format!("profile {}'s roots", self.name),
        }
    }

    /// The `pgtls roots` arguments that select it: `--profile azure`, or with the file that
    /// defines a user's profile.
    pub fn selector(&self) -> String {
        match &self.origin {
            Origin::Bundled => format!("--profile {}", self.name),
            Origin::File(path) => {
                format!("--profile-file {} --profile {}", path.display(), self.name)
            }
        }
    }
}

/// The bundled profile file and the root files it names.
const PROFILES: &str = include_str!("../../certs/profiles.toml");
const FILES: &[(&str, &str)] = &[
    (
        "digicert-global-root-g2.pem",
        include_str!("../../certs/digicert-global-root-g2.pem"),
    ),
    (
        "digicert-global-root-ca.pem",
        include_str!("../../certs/digicert-global-root-ca.pem"),
    ),
    (
        "microsoft-rsa-root-ca-2017.pem",
        include_str!("../../certs/microsoft-rsa-root-ca-2017.pem"),
    ),
    (
        "microsoft-ecc-root-ca-2017.pem",
        include_str!("../../certs/microsoft-ecc-root-ca-2017.pem"),
    ),
    (
        "aws-rds-global-bundle.pem",
        include_str!("../../certs/aws-rds-global-bundle.pem"),
    ),
    (
        "amazon-root-ca-1.pem",
        include_str!("../../certs/amazon-root-ca-1.pem"),
    ),
    (
        "amazon-root-ca-2.pem",
        include_str!("../../certs/amazon-root-ca-2.pem"),
    ),
    (
        "amazon-root-ca-3.pem",
        include_str!("../../certs/amazon-root-ca-3.pem"),
    ),
    (
        "amazon-root-ca-4.pem",
        include_str!("../../certs/amazon-root-ca-4.pem"),
    ),
    (
        "starfield-services-root-g2.pem",
        include_str!("../../certs/starfield-services-root-g2.pem"),
    ),
];

/// The bundled profiles, read from the compiled-in file; their roots when first asked for.
fn bundled() -> Vec<Profile> {
    file::parse(
        PROFILES,
        Path::new("certs/profiles.toml"),
        &Origin::Bundled,
        None,
    )
    .expect("the bundled profiles are valid (tested)")
}

/// The profiles a command works with: the bundled ones, then the user's, in a fixed order.
#[derive(Debug)]
pub struct Profiles {
    list: Vec<Profile>,
}

impl Profiles {
    /// The bundled profiles alone.
    #[cfg(test)]
    pub fn bundled() -> Self {
        Profiles { list: bundled() }
    }

    /// The bundled profiles and the user's, and in debug builds the test profile `test`
    /// (`name=FILE`).
    ///
    /// # Errors
    /// A profile whose name is already taken, by a bundled profile or an earlier file.
    pub fn with_user(user: Vec<Profile>, test: Option<&str>) -> Result<Self, ProfileError> {
        let mut profiles = bundled();
        for p in user {
            if let Some(taken) = profiles.iter().find(|q| q.name == p.name) {
                return Err(name_taken(&p, taken));
            }
            profiles.push(p);
        }
        Ok(Profiles {
            list: with_test_profile(profiles, test),
        })
    }

    /// Every profile.
    pub fn all(&self) -> &[Profile] {
        &self.list
    }

    /// The profile of this name, if any.
    pub fn find(&self, name: &str) -> Option<&Profile> {
        self.list.iter().find(|p| p.name == name)
    }

    /// The profile `--profile` names.
    ///
    /// # Errors
    /// No profile has that name.
    pub fn named(&self, name: &str) -> Result<&Profile, UnknownProfile> {
        self.find(name).ok_or_else(|| UnknownProfile {
            name: crate::sanitize::clean(name).into_owned(),
            known: self
                .list
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// The profile whose host-name suffix the host ends with (case-insensitively), the longest
    /// suffix winning.
    pub fn by_host(&self, host: &str) -> Option<(&Profile, Clue<'_>)> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.list
            .iter()
            .flat_map(|p| p.suffixes.iter().map(move |s| (p, s)))
            .filter(|(_, s)| host.ends_with(s.as_str()) && host.len() > s.len())
            .max_by_key(|(_, s)| s.len())
            .map(|(p, s)| (p, Clue::Suffix(s.as_str())))
    }

    /// The profile whose issuer text the certificate's issuer (its common name, or the whole
    /// subject text) starts with.
    pub fn by_issuer(&self, issuer: &str) -> Option<(&Profile, Clue<'_>)> {
        let cn = crate::certinfo::common_name(issuer);
        self.list.iter().find_map(|p| {
            p.issuers
                .iter()
                .find(|i| cn.starts_with(i.as_str()))
                .map(|i| (p, Clue::Issuer(i.as_str())))
        })
    }

    /// The profile one of whose error texts the server's message holds.
    pub fn by_error(&self, message: &str) -> Option<(&Profile, Clue<'_>)> {
        self.list.iter().find_map(|p| {
            p.errors
                .iter()
                .find(|e| message.contains(e.as_str()))
                .map(|e| (p, Clue::Error(e.as_str())))
        })
    }
}

/// The error for a user's profile whose name `taken` has.
fn name_taken(p: &Profile, taken: &Profile) -> ProfileError {
    let path = match &p.origin {
        Origin::File(path) => path.clone(),
        Origin::Bundled => PathBuf::from("certs/profiles.toml"),
    };
    let reason = match &taken.origin {
        Origin::Bundled => format!(
            "profile \"{}\" is bundled with pgtls; give yours another name",
            p.name
        ),
        Origin::File(other) => format!(
            "profile \"{}\" is already defined in {}",
            p.name,
            other.display()
        ),
    };
    ProfileError {
        path,
        line: 1,
        reason,
    }
}

/// A `--profile` name that no profile has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown profile \"{name}\" (expected {known})")]
pub struct UnknownProfile {
    /// The name given.
    pub name: String,
    /// The profiles there are.
    pub known: String,
}

/// Reads the user's profile files: each `--profile-file`, then every `*.toml` in `dir` (the
/// config directory's `pgtls/profiles`), in name order. A missing `dir` is no error; a name used
/// twice is refused by [`Profiles::with_user`]. A file of `dir` that cannot be used is an error where `all`
/// are needed, and otherwise left out and returned beside the profiles.
///
/// # Errors
/// The first `--profile-file` that cannot be read or holds a mistake, or (with `all`) the first
/// such file of `dir`.
pub fn load(
    files: &[PathBuf],
    dir: Option<&Path>,
    all: bool,
) -> Result<(Vec<Profile>, Vec<ProfileError>), ProfileError> {
    let mut found: Vec<PathBuf> = Vec::new();
    if let Some(dir) = dir
        && let Ok(entries) = std::fs::read_dir(dir)
    {
        found = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        found.sort();
        // A file given with --profile-file that lives there too is read once.
        let given: Vec<PathBuf> = files.iter().filter_map(|f| f.canonicalize().ok()).collect();
        found.retain(|f| f.canonicalize().map_or(true, |c| !given.contains(&c)));
    }
    let mut profiles = Vec::new();
    for path in files {
        profiles.extend(load_file(path)?);
    }
    let mut left_out = Vec::new();
    for path in found {
        match load_file(&path) {
            Ok(more) => profiles.extend(more),
            Err(e) if !all => left_out.push(e),
            Err(e) => return Err(e),
        }
    }
    Ok((profiles, left_out))
}

/// Reads one profile file and the root files it names.
fn load_file(path: &Path) -> Result<Vec<Profile>, ProfileError> {
    let whole = |reason: String| ProfileError {
        path: path.to_path_buf(),
        line: 1,
        reason,
    };
    let bytes = match crate::files::read(path, crate::files::SETTINGS) {
        // A symbolic link whose target is gone says so, rather than that the link is missing.
        Err(_) if path.is_symlink() && !path.exists() => {
            let target = std::fs::read_link(path).unwrap_or_default();
            return Err(whole(format!(
                "a symbolic link to {}, which does not exist",
                target.display()
            )));
        }
        read => read.map_err(|e| whole(e.to_string()))?,
    };
    let text = String::from_utf8(bytes).map_err(|_| whole("not UTF-8 text".into()))?;
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let read = |name: &str| {
        let file = base.join(name);
        crate::files::read(&file, crate::files::CERTIFICATES)
            .map_err(|e| format!("{}: {e}", file.display()))
    };
    file::parse(&text, path, &Origin::File(path.to_path_buf()), Some(&read))
}

/// How a target was recognised as a provider's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clue<'a> {
    /// The host name ends with this suffix.
    Suffix(&'a str),
    /// The server certificate's issuer starts with this text.
    Issuer(&'a str),
    /// The server said this.
    Error(&'a str),
}

#[cfg(debug_assertions)]
fn with_test_profile(mut profiles: Vec<Profile>, spec: Option<&str>) -> Vec<Profile> {
    use rustls::pki_types::pem::PemObject;
    let Some(spec) = spec else {
        return profiles;
    };
    let Some((name, file)) = spec.split_once('=') else {
        return profiles;
    };
    let Ok(bytes) = std::fs::read(file) else {
        return profiles;
    };
    let roots: Vec<Root> = CertificateDer::pem_slice_iter(&bytes)
        .filter_map(Result::ok)
        .map(|der| {
            let subject = crate::certinfo::describe(&der, 0)
                .map_or_else(|| "test root".into(), |i| i.subject);
            Root {
                name: subject.clone(),
                subject,
                sha256: crate::certinfo::sha256(&der),
                der,
                need: Need::Required,
            }
        })
        .collect();
    match profiles.iter_mut().find(|p| p.name == name) {
        Some(bundled) => {
            bundled.roots = OnceLock::from(roots);
            bundled.deferred.clear();
        }
        None => profiles.push(Profile {
            name: name.to_string(),
            description: "test profile".into(),
            suffixes: Vec::new(),
            issuers: Vec::new(),
            errors: Vec::new(),
            ports: Vec::new(),
            download: None,
            needs_sni: None,
            cn_only: None,
            levers: Levers::default(),
            roots: OnceLock::from(roots),
            deferred: Vec::new(),
            origin: Origin::Bundled,
        }),
    }
    profiles
}

#[cfg(not(debug_assertions))]
fn with_test_profile(profiles: Vec<Profile>, _spec: Option<&str>) -> Vec<Profile> {
    profiles
}

/// The `roots` listing: profiles and their roots, described.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Listing {
    /// One entry per profile.
    pub profiles: Vec<ProfileListing>,
}

/// One profile in the listing.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ProfileListing {
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The profile file it comes from; `null` for a bundled profile.
    pub file: Option<String>,
    /// Host-name suffixes that name it.
    pub suffixes: Vec<String>,
    /// Certificate issuers that name it.
    pub issuers: Vec<String>,
    /// The ports its servers and poolers listen on.
    pub ports: Vec<u16>,
    /// How to get a per-instance or per-project CA.
    pub download: Option<String>,
    /// How to connect to a provider that routes by SNI.
    pub needs_sni: Option<String>,
    /// What works with server certificates named by CN only.
    pub cn_only: Option<String>,
    /// Its roots.
    pub roots: Vec<ListedRoot>,
}

/// One root of a profile in the listing.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ListedRoot {
    /// The certificate.
    #[serde(flatten)]
    pub certificate: crate::certinfo::CertificateInfo,
    /// Whether a root file for the profile must hold it (`false`: recommended, one of a set,
    /// or announced for a rotation).
    pub required: bool,
    /// `required`, `recommended`, `one-of` or `rotation`.
    pub need: NeedKind,
    /// Why a root that is not required is kept; `null` for a required one.
    pub reason: Option<String>,
    /// For a rotation root, the date the provider switches to it (YYYY-MM-DD).
    pub date: Option<String>,
}

/// How much a root file needs a root, as the listing names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NeedKind {
    /// A root file without it fails.
    Required,
    /// For chains some servers may present.
    Recommended,
    /// One of a set (one per region).
    OneOf,
    /// Announced for a rotation, from a date.
    Rotation,
}

/// Describes the given profiles.
pub fn listing(profiles: &[&Profile], now: i64) -> Listing {
    Listing {
        profiles: profiles
            .iter()
            .map(|p| ProfileListing {
                name: p.name.clone(),
                description: p.description.clone(),
                file: match &p.origin {
                    Origin::Bundled => None,
                    Origin::File(path) => Some(path.display().to_string()),
                },
                suffixes: p.suffixes.clone(),
                issuers: p.issuers.clone(),
                ports: p.ports.clone(),
                download: p.download.clone(),
                needs_sni: p.needs_sni.clone(),
                cn_only: p.cn_only.clone(),
                roots: p
                    .roots()
                    .iter()
                    .filter_map(|r| {
                        let (need, reason, date) = match &r.need {
                            Need::Required => (NeedKind::Required, None, None),
                            Need::Recommended(why) => {
                                (NeedKind::Recommended, Some(why.clone()), None)
                            }
                            Need::OneOf(why) => (NeedKind::OneOf, Some(why.clone()), None),
                            Need::Rotation { date, reason } => {
                                (NeedKind::Rotation, Some(reason.clone()), Some(date.clone()))
                            }
                        };
                        Some(ListedRoot {
                            certificate: crate::certinfo::describe(&r.der, now)?,
                            required: r.need == Need::Required,
                            need,
                            reason,
                            date,
                        })
                    })
                    .collect(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled_set() -> &'static Profiles {
        static SET: std::sync::OnceLock<Profiles> = std::sync::OnceLock::new();
        SET.get_or_init(Profiles::bundled)
    }

    fn profile(name: &str) -> &'static Profile {
        bundled_set().find(name).unwrap()
    }

    #[test]
    fn every_bundled_root_file_is_named_by_a_profile_and_reads_as_roots() {
        let profiles = bundled();
        for (file, _) in FILES {
            assert!(
                profiles
                    .iter()
                    .any(|p| p.deferred.iter().any(|(name, _)| name == file)),
                "{file} is bundled but no profile names it"
            );
        }
        for p in &profiles {
            // Read and checked (self-signed CAs) here, as they are on first use.
            assert_eq!(p.roots().is_empty(), p.deferred.is_empty(), "{}", p.name);
        }
    }

    #[test]
    fn azure_roots_have_the_published_fingerprints_and_expiry_dates() {
        let expected = [
            (
                "DigiCert Global Root G2",
                "CB:3C:CB:B7:60:31:E5:E0:13:8F:8D:D3:9A:23:F9:DE:47:FF:C3:5E:43:C1:14:4C:EA:27:D4:6A:5A:B1:CB:5F",
                "2038-01-15",
            ),
            (
                "DigiCert Global Root CA",
                "43:48:A0:E9:44:4C:78:CB:26:5E:05:8D:5E:89:44:B4:D8:4F:96:62:BD:26:DB:25:7F:89:34:A4:43:C7:01:61",
                "2031-11-10",
            ),
            (
                "Microsoft RSA Root Certificate Authority 2017",
                "C7:41:F7:0F:4B:2A:8D:88:BF:2E:71:C1:41:22:EF:53:EF:10:EB:A0:CF:A5:E6:4C:FA:20:F4:18:85:30:73:E0",
                "2042-07-18",
            ),
            (
                "Microsoft ECC Root Certificate Authority 2017",
                "35:8D:F3:9D:76:4A:F9:E1:B7:66:E9:C9:72:DF:35:2E:E1:5C:FA:C2:27:AF:6A:D1:D7:0E:8E:4A:6E:DC:BA:02",
                "2042-07-18",
            ),
        ];
        let azure = bundled().into_iter().find(|p| p.name == "azure").unwrap();
        assert_eq!(azure.roots().len(), 4);
        for ((name, sha256, expires), root) in expected.iter().zip(azure.roots()) {
            let info = crate::certinfo::describe(&root.der, 0).unwrap();
            assert_eq!(&root.name, name);
            assert_eq!(info.sha256, *sha256, "{name}");
            assert_eq!(&info.not_after[..10], *expires, "{name}");
            assert!(info.self_signed && info.is_ca, "{name} is a root");
        }
        let required: Vec<_> = azure
            .roots()
            .iter()
            .filter(|r| r.need == Need::Required)
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(
            required,
            [
                "DigiCert Global Root G2",
                "Microsoft RSA Root Certificate Authority 2017"
            ]
        );
    }

    /// `certs/aws-rds.tsv` records each root of AWS's global bundle: subject, SHA-256, expiry.
    #[test]
    fn aws_rds_roots_are_the_ones_recorded_in_certs() {
        let recorded: Vec<Vec<&str>> = include_str!("../../certs/aws-rds.tsv")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split('\t').collect())
            .collect();
        let rds = bundled().into_iter().find(|p| p.name == "aws-rds").unwrap();
        let regional: Vec<&Root> = rds
            .roots()
            .iter()
            .filter(|r| matches!(r.need, Need::OneOf(_)))
            .collect();
        assert_eq!(regional.len(), 108);
        assert_eq!(recorded.len(), regional.len());
        for (row, root) in recorded.iter().zip(&regional) {
            let info = crate::certinfo::describe(&root.der, 0).unwrap();
            assert_eq!(root.name, row[0]);
            assert_eq!(info.sha256, row[1], "{}", row[0]);
            assert_eq!(&info.not_after[..10], row[2], "{}", row[0]);
            assert!(info.self_signed && info.is_ca, "{} is a root", row[0]);
        }
        let proxy: Vec<&str> = rds
            .roots()
            .iter()
            .filter(|r| matches!(r.need, Need::Recommended(_)))
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(
            proxy,
            [
                "Amazon Root CA 1",
                "Amazon Root CA 2",
                "Amazon Root CA 3",
                "Amazon Root CA 4",
                "Starfield Services Root Certificate Authority - G2"
            ]
        );
    }

    #[test]
    fn hosts_are_matched_by_their_longest_suffix() {
        let cases = [
            ("db1.postgres.database.azure.com", Some("azure")),
            ("DB1.Postgres.Database.Azure.COM.", Some("azure")),
            ("c-x.abc.postgres.cosmos.azure.com", Some("cosmos")),
            (
                "mydb.c9akciq32.us-east-1.rds.amazonaws.com",
                Some("aws-rds"),
            ),
            (
                "mydb.proxy-c9akciq32.cn-north-1.rds.amazonaws.com.cn",
                Some("aws-rds"),
            ),
            (
                "ep-cool-darkness-123456.us-east-2.aws.neon.tech",
                Some("neon"),
            ),
            ("db.abcdefghijkl.supabase.co", Some("supabase")),
            ("aws-0-eu-central-1.pooler.supabase.com", Some("supabase")),
            (
                "db-postgresql-nyc3-1234-do-user-1-0.b.db.ondigitalocean.com",
                Some("digitalocean"),
            ),
            ("pg-1234-proj.aivencloud.com", Some("aiven")),
            ("x.y.z.sql.goog", Some("gcp-cloudsql")),
            // The suffix itself, or a look-alike, is no match.
            ("rds.amazonaws.com", None),
            ("evilrds.amazonaws.com", None),
            ("neon.tech.example.com", None),
            ("10.1.2.3", None),
        ];
        for (host, expected) in cases {
            assert_eq!(
                bundled_set().by_host(host).map(|(p, _)| p.name.as_str()),
                expected,
                "{host}"
            );
        }
    }

    #[test]
    fn cloud_sql_is_named_by_its_issuer_and_neon_by_its_error() {
        assert_eq!(
            bundled_set()
                .by_issuer("CN=Google Cloud SQL Server CA, O=Google, Inc, C=US")
                .map(|(p, _)| p.name.as_str()),
            Some("gcp-cloudsql")
        );
        assert!(bundled_set().by_issuer("CN=Some CA").is_none());
        assert_eq!(
            bundled_set().by_error(
                "Endpoint ID is not specified. Either please upgrade the postgres client library"
            )
            .map(|(p, _)| p.name.as_str()),
            Some("neon")
        );
        assert!(
            bundled_set()
                .by_error("password authentication failed")
                .is_none()
        );
    }

    #[test]
    fn per_instance_providers_say_how_to_download_their_ca() {
        for name in ["gcp-cloudsql", "supabase", "digitalocean", "aiven", "neon"] {
            let p = profile(name);
            assert!(p.roots().is_empty(), "{name}");
            assert!(p.download.is_some(), "{name}");
        }
        assert!(profile("gcp-cloudsql").cn_only.is_some());
        assert!(profile("neon").needs_sni.is_some());
    }
}
