//! The profile file format (TOML), read for the bundled profiles and for `--profile-file`: every
//! mistake is refused with the file, the line and the reason.

use std::ops::Range;
use std::path::{Path, PathBuf};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::Deserialize;
use toml::Spanned;

use super::{Need, Origin, Profile, Root};

/// A profile file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {reason}", path.display())]
pub struct ProfileError {
    pub path: PathBuf,
    /// The line (1-based; 1 when the file as a whole is at fault).
    pub line: usize,
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    profile: Vec<Spanned<ProfileSpec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileSpec {
    name: Spanned<String>,
    description: String,
    #[serde(default)]
    suffixes: Vec<Spanned<String>>,
    #[serde(default)]
    issuers: Vec<Spanned<String>>,
    #[serde(default)]
    errors: Vec<Spanned<String>>,
    #[serde(default)]
    ports: Vec<u16>,
    download: Option<String>,
    needs_sni: Option<String>,
    cn_only: Option<String>,
    #[serde(default)]
    levers: super::Levers,
    #[serde(default)]
    root: Vec<Spanned<RootSpec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RootSpec {
    file: String,
    need: Spanned<String>,
    reason: Option<String>,
    date: Option<Spanned<String>>,
}

/// Reads a root file named by a profile: its bytes, or why not.
pub(crate) type ReadRoot<'a> = dyn Fn(&str) -> Result<Vec<u8>, String> + 'a;

/// A root file to read when the profile's roots are first asked for, with its need.
type Deferred = (String, Need);

/// A mistake in a profile file: where (a byte range; none for the whole file) and what.
type Mistake = (Option<Range<usize>>, String);

/// Reads the profiles of one file. `read_root` returns the bytes of a root file named by a
/// `[[profile.root]]` entry (relative to the profile file's directory), read and checked now;
/// without it (the bundled file), root files are read when a profile's roots are first asked for.
pub(crate) fn parse(
    text: &str,
    path: &Path,
    origin: &Origin,
    read_root: Option<&ReadRoot<'_>>,
) -> Result<Vec<Profile>, ProfileError> {
    let fail = |(span, reason): Mistake| ProfileError {
        path: path.to_path_buf(),
        line: span.map_or(1, |s| line_of(text, s.start)),
        reason,
    };
    let spec: FileSpec = toml::from_str(text).map_err(|e| {
        let reason = e.message().trim_end().replace('\n', " ");
        fail((e.span(), reason))
    })?;
    if spec.profile.is_empty() {
        return Err(fail((None, "no [[profile]] in the file".into())));
    }
    let mut profiles: Vec<Profile> = Vec::new();
    for entry in spec.profile {
        let span = entry.span();
        let p = entry.into_inner();
        check_names(&p, &profiles).map_err(fail)?;
        let (roots, deferred) = roots_of_profile(&p, read_root).map_err(fail)?;
        if p.root.is_empty() && p.download.is_none() {
            let name = p.name.get_ref();
            return Err(fail((
                Some(span),
                format!(
                    "profile \"{name}\" has neither a [[profile.root]] nor download instructions"
                ),
            )));
        }
        profiles.push(Profile {
            name: p.name.into_inner(),
            description: p.description,
            suffixes: p
                .suffixes
                .into_iter()
                .map(|s| s.into_inner().to_ascii_lowercase())
                .collect(),
            issuers: p.issuers.into_iter().map(Spanned::into_inner).collect(),
            errors: p.errors.into_iter().map(Spanned::into_inner).collect(),
            ports: p.ports,
            download: p.download,
            needs_sni: p.needs_sni,
            cn_only: p.cn_only,
            levers: p.levers,
            roots: match read_root {
                Some(_) => std::sync::OnceLock::from(roots),
                None => std::sync::OnceLock::new(),
            },
            deferred,
            origin: origin.clone(),
        });
    }
    Ok(profiles)
}

/// The name (well formed, not taken by an `earlier` profile of the file), the host-name suffixes
/// and the issuer and error patterns of a profile.
fn check_names(p: &ProfileSpec, earlier: &[Profile]) -> Result<(), Mistake> {
    let name = p.name.get_ref();
    if !valid_name(name) {
        return Err((
            Some(p.name.span()),
            format!(
                "profile name \"{}\": use lower-case letters, digits and '-' (at most 40)",
                crate::sanitize::clean(name)
            ),
        ));
    }
    if earlier.iter().any(|q| &q.name == name) {
        return Err((
            Some(p.name.span()),
            format!("profile \"{name}\" is defined twice"),
        ));
    }
    for suffix in &p.suffixes {
        let s = suffix.get_ref();
        if !s.starts_with('.') || s.len() < 3 || s.contains(|c: char| c.is_whitespace()) {
            return Err((
                Some(suffix.span()),
                format!(
                    "host-name suffix \"{}\" must start with '.' (\".example.com\")",
                    crate::sanitize::clean(s)
                ),
            ));
        }
    }
    // An empty pattern is in every issuer and every error: it would claim every target.
    for (what, patterns) in [("issuer", &p.issuers), ("error", &p.errors)] {
        if let Some(empty) = patterns.iter().find(|t| t.get_ref().trim().is_empty()) {
            return Err((
                Some(empty.span()),
                format!("an empty {what} pattern would match every target"),
            ));
        }
    }
    Ok(())
}

/// A profile's roots, read and checked now where `read_root` is given; else the files and their
/// needs, for later.
fn roots_of_profile(
    p: &ProfileSpec,
    read_root: Option<&ReadRoot<'_>>,
) -> Result<(Vec<Root>, Vec<Deferred>), Mistake> {
    let mut roots = Vec::new();
    let mut deferred = Vec::new();
    for root in &p.root {
        let r = root.get_ref();
        let need = need_of(root)?;
        match read_root {
            Some(read) => {
                let bytes = read(&r.file).map_err(|e| (Some(root.span()), e))?;
                let found = roots_of(&r.file, &bytes, &need).map_err(|e| (Some(root.span()), e))?;
                roots.extend(found);
            }
            None => deferred.push((r.file.clone(), need)),
        }
    }
    Ok((roots, deferred))
}

/// What a root entry's `need` (and `date`, for a rotation) say.
fn need_of(root: &Spanned<RootSpec>) -> Result<Need, Mistake> {
    let r = root.get_ref();
    let reason = || r.reason.clone().unwrap_or_default();
    match (r.need.get_ref().as_str(), &r.date) {
        ("required", None) => Ok(Need::Required),
        ("recommended", None) => Ok(Need::Recommended(reason())),
        ("one-of", None) => Ok(Need::OneOf(reason())),
        ("rotation", Some(date)) if valid_date(date.get_ref()) => Ok(Need::Rotation {
            date: date.get_ref().clone(),
            reason: reason(),
        }),
        ("rotation", Some(date)) => Err((
            Some(date.span()),
            format!(
                "date \"{}\" is not a date (YYYY-MM-DD)",
                crate::sanitize::clean(date.get_ref())
            ),
        )),
        ("rotation", None) => Err((
            Some(root.span()),
            "a rotation root needs the date the provider switches to it (date = \"YYYY-MM-DD\")"
                .into(),
        )),
        ("required" | "recommended" | "one-of", Some(date)) => {
            Err((Some(date.span()), "only a rotation root has a date".into()))
        }
        (other, _) => Err((
            Some(r.need.span()),
            format!(
                "need \"{}\": expected required, recommended, one-of or rotation",
                crate::sanitize::clean(other)
            ),
        )),
    }
}

/// The roots of one root file: every certificate in it, each a self-signed CA.
pub(crate) fn roots_of(file: &str, bytes: &[u8], need: &Need) -> Result<Vec<Root>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{file}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{file}: no PEM certificate in it"));
    }
    certs
        .into_iter()
        .map(|der| {
            let (subject, is_ca, self_signed) = crate::certinfo::anchor_facts(&der)
                .ok_or_else(|| format!("{file}: a certificate in it cannot be read"))?;
            if !self_signed || !is_ca {
                return Err(format!(
                    "{file}: \"{subject}\" is not a root CA (a profile holds only self-signed CA certificates)"
                ));
            }
            Ok(Root {
                name: crate::certinfo::common_name(&subject).to_string(),
                sha256: crate::certinfo::sha256(&der),
                subject,
                der,
                need: need.clone(),
            })
        })
        .collect()
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn valid_date(date: &str) -> bool {
    time::format_description::parse_borrowed::<2>("[year]-[month]-[day]")
        .is_ok_and(|format| date.len() == 10 && time::Date::parse(date, &format).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = include_str!("../../certs/digicert-global-root-g2.pem");

    fn read(name: &str) -> Result<Vec<u8>, String> {
        match name {
            "root.pem" => Ok(ROOT.as_bytes().to_vec()),
            "leaf.pem" => Ok(
                rcgen::generate_simple_self_signed(vec!["db.corp.example".into()])
                    .unwrap()
                    .cert
                    .pem()
                    .into_bytes(),
            ),
            "empty.pem" => Ok(Vec::new()),
            other => Err(format!("{other}: No such file or directory")),
        }
    }

    fn parsed(text: &str) -> Result<Vec<Profile>, ProfileError> {
        parse(
            text,
            Path::new("corp.toml"),
            &Origin::File(PathBuf::from("corp.toml")),
            Some(&read),
        )
    }

    const GOOD: &str = "[[profile]]\nname = \"corp\"\ndescription = \"Corp\"\nsuffixes = [\".DB.Corp.example\"]\n[[profile.root]]\nfile = \"root.pem\"\nneed = \"required\"\n[[profile.root]]\nfile = \"root.pem\"\nneed = \"rotation\"\ndate = \"2027-03-01\"\nreason = \"the 2027 root\"\n";

    #[test]
    fn a_good_file_gives_its_profile_with_lower_case_suffixes_and_named_roots() {
        let profiles = parsed(GOOD).unwrap();
        assert_eq!(profiles.len(), 1);
        let corp = &profiles[0];
        assert_eq!(corp.suffixes, [".db.corp.example"]);
        assert_eq!(corp.roots()[0].name, "DigiCert Global Root G2");
        assert_eq!(corp.roots()[0].need, Need::Required);
        assert_eq!(
            corp.roots()[1].need,
            Need::Rotation {
                date: "2027-03-01".into(),
                reason: "the 2027 root".into()
            }
        );
    }

    #[test]
    fn each_mistake_is_refused_with_its_line_and_reason() {
        let profile = "[[profile]]\nname = \"corp\"\ndescription = \"Corp\"\n";
        let root = "[[profile.root]]\nfile = \"root.pem\"\n";
        let cases: Vec<(String, usize, &str)> = vec![
            ("[[profile]\n".into(), 1, "unclosed array table"),
            (String::new(), 1, "no [[profile]]"),
            (
                format!("{profile}colour = \"red\"\n"),
                4,
                "unknown field `colour`",
            ),
            (
                "[[profile]]\nname = \"corp\"\n".into(),
                1,
                "missing field `description`",
            ),
            (
                "[[profile]]\nname = \"Corp!\"\ndescription = \"x\"\ndownload = \"x\"\n".into(),
                2,
                "profile name \"Corp!\"",
            ),
            (
                format!("{profile}download = \"x\"\n{profile}download = \"x\"\n"),
                6,
                "defined twice",
            ),
            (
                format!("{profile}suffixes = [\"corp.example\"]\ndownload = \"x\"\n"),
                4,
                "must start with '.'",
            ),
            (
                format!("{profile}{root}need = \"always\"\n"),
                6,
                "need \"always\"",
            ),
            (
                format!("{profile}{root}need = \"rotation\"\n"),
                4,
                "needs the date",
            ),
            (
                format!("{profile}{root}need = \"rotation\"\ndate = \"next year\"\n"),
                7,
                "not a date",
            ),
            (
                format!("{profile}{root}need = \"required\"\ndate = \"2027-01-01\"\n"),
                7,
                "only a rotation root",
            ),
            (
                format!("{profile}[[profile.root]]\nfile = \"missing.pem\"\nneed = \"required\"\n"),
                4,
                "missing.pem: No such file",
            ),
            (
                format!("{profile}[[profile.root]]\nfile = \"empty.pem\"\nneed = \"required\"\n"),
                4,
                "no PEM certificate",
            ),
            (
                format!("{profile}[[profile.root]]\nfile = \"leaf.pem\"\nneed = \"required\"\n"),
                4,
                "is not a root CA",
            ),
            (
                profile.to_string(),
                1,
                "neither a [[profile.root]] nor download",
            ),
            (
                format!("{profile}issuers = [\"Corp CA\", \"\"]\ndownload = \"x\"\n"),
                4,
                "empty issuer pattern",
            ),
            (
                format!("{profile}errors = [\" \"]\ndownload = \"x\"\n"),
                4,
                "empty error pattern",
            ),
            (
                format!("{profile}ports = [\"x\"]\ndownload = \"x\"\n"),
                4,
                "invalid type",
            ),
        ];
        for (text, line, reason) in cases {
            let e = parsed(&text).expect_err(&text);
            assert_eq!(e.line, line, "{text}: {e}");
            assert!(e.reason.contains(reason), "{text}: {e}");
            assert!(
                e.to_string().starts_with(&format!("corp.toml:{line}: ")),
                "{e}"
            );
        }
    }
}
