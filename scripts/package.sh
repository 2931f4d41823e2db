#!/usr/bin/env bash
# Builds what a machine without a Rust toolchain installs: the release binary with its manual page
# and shell completions, as
#   target/debian/pgtls_VERSION-1_amd64.deb           (cargo-deb; install with dpkg -i)
#   target/package/pgtls-VERSION-x86_64-linux-gnu.tar.gz  (and its .sha256)
# Installs cargo-deb (pinned) where it is missing. Prints the two paths.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_DEB=3.8.0
# cargo-deb works out the package's dependencies with dpkg-shlibdeps.
command -v dpkg-shlibdeps >/dev/null || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dpkg-dev >/dev/null
}
if ! cargo deb --version 2>/dev/null | grep -qx "cargo-deb $CARGO_DEB"; then
    cargo install --locked --quiet cargo-deb --version "$CARGO_DEB"
fi
cargo build --release --locked --quiet
# The binary is where cargo put it; the packages always go to target/ here.
binary=${CARGO_TARGET_DIR:-target}/release/pgtls
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
name="pgtls-$version-x86_64-linux-gnu"
stage=target/package/$name
rm -rf "$stage" && mkdir -p "$stage/completions"
cp "$binary" README.md LICENSE "$stage/"
"$binary" man > "$stage/pgtls.1"
"$binary" completions bash > "$stage/completions/pgtls.bash"
"$binary" completions zsh > "$stage/completions/_pgtls"
"$binary" completions fish > "$stage/completions/pgtls.fish"
# The same files, where the .deb takes them from (Cargo.toml, [package.metadata.deb]).
rm -rf target/package/assets && cp -r "$stage" target/package/assets
deb=$(cargo deb --no-build --locked --quiet --output target/debian/)
# Reproducible: owner and times do not depend on the machine that built it.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
    -C target/package -czf "target/package/$name.tar.gz" "$name"
(cd target/package && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
echo "$deb"
echo "target/package/$name.tar.gz"
