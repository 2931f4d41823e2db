//! The packages for machines without a Rust toolchain (scripts/package.sh, which scripts/test.sh
//! runs first): the .deb cargo-deb builds and the release archive, each unpacked and run.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::root;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A file scripts/package.sh makes, or a loud failure that says how to make it.
fn built(relative: &str) -> PathBuf {
    let path = root().join(relative);
    assert!(
        path.is_file(),
        "{} is missing: scripts/test.sh builds it with scripts/package.sh",
        path.display()
    );
    path
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The files both packages hold, relative to where they unpack: the binary runs and says its
/// version, the manual page and each shell's completions are there and are the binary's own.
fn holds_a_working_pgtls(binary: &Path, manual: &Path, completions: [&Path; 3]) {
    let version = run_ok(Command::new(binary).arg("--version"));
    assert_eq!(version.trim(), format!("pgtls {VERSION}"));
    for (file, shell) in completions.iter().zip(["bash", "zsh", "fish"]) {
        let ours = run_ok(Command::new(binary).args(["completions", shell]));
        assert_eq!(std::fs::read_to_string(file).unwrap(), ours, "{shell}");
    }
    let page = match manual.extension().and_then(|e| e.to_str()) {
        Some("gz") => run_ok(Command::new("gzip").arg("-dc").arg(manual)),
        _ => std::fs::read_to_string(manual).unwrap(),
    };
    assert_eq!(page, run_ok(Command::new(binary).arg("man")));
}

#[test]
fn the_deb_installs_pgtls_its_manual_and_completions_where_debian_looks() {
    let deb = built(&format!("target/debian/pgtls_{VERSION}-1_amd64.deb"));
    let field = |name: &str| {
        run_ok(
            Command::new("dpkg-deb")
                .args(["--field"])
                .arg(&deb)
                .arg(name),
        )
        .trim()
        .to_string()
    };
    assert_eq!(field("Package"), "pgtls");
    assert_eq!(field("Version"), format!("{VERSION}-1"));
    assert!(
        field("Depends").starts_with("libc6"),
        "{}",
        field("Depends")
    );
    let dir = tempfile::tempdir().unwrap();
    run_ok(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(dir.path()));
    let at = |p: &str| dir.path().join(p);
    holds_a_working_pgtls(
        &at("usr/bin/pgtls"),
        &at("usr/share/man/man1/pgtls.1.gz"),
        [
            &at("usr/share/bash-completion/completions/pgtls"),
            &at("usr/share/zsh/vendor-completions/_pgtls"),
            &at("usr/share/fish/vendor_completions.d/pgtls.fish"),
        ],
    );
}

#[test]
fn the_release_archive_unpacks_into_one_folder_with_its_checksum() {
    let name = format!("pgtls-{VERSION}-x86_64-linux-gnu");
    let archive = built(&format!("target/package/{name}.tar.gz"));
    built(&format!("target/package/{name}.tar.gz.sha256"));
    run_ok(
        Command::new("sha256sum")
            .args(["--check", "--quiet", &format!("{name}.tar.gz.sha256")])
            .current_dir(root().join("target/package")),
    );
    let dir = tempfile::tempdir().unwrap();
    run_ok(
        Command::new("tar")
            .arg("-xzf")
            .arg(&archive)
            .arg("-C")
            .arg(dir.path()),
    );
    let top: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(top, [std::ffi::OsString::from(&name)]);
    let at = |p: &str| dir.path().join(&name).join(p);
    assert!(at("LICENSE").is_file() && at("README.md").is_file());
    holds_a_working_pgtls(
        &at("pgtls"),
        &at("pgtls.1"),
        [
            &at("completions/pgtls.bash"),
            &at("completions/_pgtls"),
            &at("completions/pgtls.fish"),
        ],
    );
}
