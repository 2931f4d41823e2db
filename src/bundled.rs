//! The provider profiles and their root CAs, compiled in from `certs/` so that an installed pgtls
//! needs no files. Debug builds also accept a test profile from `PGTLS_TEST_PROFILE`
//! (`name=FILE`), added or taking the place of the bundled profile of that name, so tests can
//! stand in for a provider's real roots; release builds do not.

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// One bundled root.
#[derive(Debug, Clone)]
pub struct Root {
    /// The root's common name.
    pub name: String,
    /// The certificate.
    pub der: CertificateDer<'static>,
    /// Whether a root file for the profile must hold it.
    pub need: Need,
}

/// How much a profile's root file needs a root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The provider's servers chain to it today: a root file without it fails.
    Required,
    /// Kept for chains some servers may present (older chains, other regions, a rotation
    /// announced), with the reason: a root file without it works for most servers.
    Recommended(&'static str),
}

/// A provider profile: the roots its servers chain to.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The name used with `--profile`.
    pub name: String,
    /// Which service it is for.
    pub description: String,
    /// Its roots.
    pub roots: Vec<Root>,
}

const DIGICERT_G2: (&str, &str) = (
    "DigiCert Global Root G2",
    include_str!("../certs/digicert-global-root-g2.pem"),
);
const DIGICERT_CA: (&str, &str) = (
    "DigiCert Global Root CA",
    include_str!("../certs/digicert-global-root-ca.pem"),
);
const MICROSOFT_RSA: (&str, &str) = (
    "Microsoft RSA Root Certificate Authority 2017",
    include_str!("../certs/microsoft-rsa-root-ca-2017.pem"),
);
const MICROSOFT_ECC: (&str, &str) = (
    "Microsoft ECC Root Certificate Authority 2017",
    include_str!("../certs/microsoft-ecc-root-ca-2017.pem"),
);

fn root((name, pem): (&str, &str), need: Need) -> Root {
    let der = CertificateDer::from_pem_slice(pem.as_bytes())
        .expect("bundled roots are valid PEM (tested)");
    Root {
        name: name.to_string(),
        der,
        need,
    }
}

/// Every profile, in a fixed order.
pub fn profiles() -> Vec<Profile> {
    let mut profiles = vec![
        Profile {
            name: "azure".into(),
            description: "Azure Database for PostgreSQL flexible server".into(),
            // Microsoft's guide names G2 and RSA 2017 as the roots its servers chain to, through
            // the intermediate rotations; the other two serve older chains and Azure China.
            roots: vec![
                root(DIGICERT_G2, Need::Required),
                root(
                    DIGICERT_CA,
                    Need::Recommended("older chains and Azure China regions chain to it"),
                ),
                root(MICROSOFT_RSA, Need::Required),
                root(
                    MICROSOFT_ECC,
                    Need::Recommended("Microsoft's ECC chains end at it"),
                ),
            ],
        },
        Profile {
            name: "cosmos".into(),
            description: "Azure Cosmos DB for PostgreSQL".into(),
            roots: vec![root(DIGICERT_G2, Need::Required)],
        },
    ];
    if let Some(test) = test_profile() {
        match profiles.iter_mut().find(|p| p.name == test.name) {
            Some(bundled) => bundled.roots = test.roots,
            None => profiles.push(test),
        }
    }
    profiles
}

/// The profile of this name, if any.
pub fn profile(name: &str) -> Option<Profile> {
    profiles().into_iter().find(|p| p.name == name)
}

/// The names of all profiles, for messages.
pub fn names() -> String {
    profiles()
        .iter()
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(debug_assertions)]
fn test_profile() -> Option<Profile> {
    let spec = std::env::var("PGTLS_TEST_PROFILE").ok()?;
    let (name, file) = spec.split_once('=')?;
    let bytes = std::fs::read(file).ok()?;
    let roots = CertificateDer::pem_slice_iter(&bytes)
        .filter_map(Result::ok)
        .map(|der| Root {
            name: crate::certinfo::describe(&der, 0)
                .map_or_else(|| "test root".into(), |i| i.subject),
            der,
            need: Need::Required,
        })
        .collect();
    Some(Profile {
        name: name.to_string(),
        description: "test profile".into(),
        roots,
    })
}

#[cfg(not(debug_assertions))]
fn test_profile() -> Option<Profile> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_roots_have_the_published_fingerprints_and_expiry_dates() {
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
        let azure = profile("azure").unwrap();
        assert_eq!(azure.roots.len(), 4);
        for ((name, sha256, expires), root) in expected.iter().zip(&azure.roots) {
            let info = crate::certinfo::describe(&root.der, 0).unwrap();
            assert_eq!(&root.name, name);
            assert!(
                info.subject.contains(&format!("CN={name}")),
                "{}",
                info.subject
            );
            assert_eq!(info.sha256, *sha256, "{name}");
            assert_eq!(&info.not_after[..10], *expires, "{name}");
            assert!(info.self_signed && info.is_ca, "{name} is a root");
        }
    }

    #[test]
    fn azure_requires_g2_and_microsoft_rsa_2017_and_recommends_the_others() {
        let azure = profile("azure").unwrap();
        let required: Vec<_> = azure
            .roots
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

    #[test]
    fn cosmos_needs_digicert_global_root_g2_only() {
        let cosmos = profile("cosmos").unwrap();
        let names: Vec<_> = cosmos.roots.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["DigiCert Global Root G2"]);
    }
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
    /// Its roots.
    pub roots: Vec<ListedRoot>,
}

/// One root of a profile in the listing.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ListedRoot {
    /// The certificate.
    #[serde(flatten)]
    pub certificate: crate::certinfo::CertificateInfo,
    /// Whether a root file for the profile must hold it (`false`: recommended).
    pub required: bool,
    /// Why a recommended root is kept; `null` for a required one.
    pub reason: Option<String>,
}

/// Describes the given profiles.
pub fn listing(profiles: &[Profile], now: i64) -> Listing {
    Listing {
        profiles: profiles
            .iter()
            .map(|p| ProfileListing {
                name: p.name.clone(),
                description: p.description.clone(),
                roots: p
                    .roots
                    .iter()
                    .filter_map(|r| {
                        Some(ListedRoot {
                            certificate: crate::certinfo::describe(&r.der, now)?,
                            required: r.need == Need::Required,
                            reason: match r.need {
                                Need::Required => None,
                                Need::Recommended(reason) => Some(reason.to_string()),
                            },
                        })
                    })
                    .collect(),
            })
            .collect(),
    }
}
