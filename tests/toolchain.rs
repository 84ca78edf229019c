//! The toolchain the project says it needs is the one it really needs: the declared
//! `rust-version` is at least every locked dependency's (sysinfo 0.40 needs 1.95; the README and
//! Cargo.toml said 1.88, and a build on 1.88 failed inside a dependency). Checked from
//! `cargo metadata`, with no toolchain download.

use serde_json::Value;

fn version(v: &str) -> Vec<u64> {
    v.split('.').map(|x| x.parse().unwrap_or(0)).collect()
}

#[test]
fn the_declared_rust_version_covers_every_locked_dependency() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let host = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--offline",
            "--filter-platform",
            &host,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let packages = m["packages"].as_array().expect("packages");
    let ours = packages
        .iter()
        .find(|p| p["name"] == "mpviz")
        .and_then(|p| p["rust_version"].as_str())
        .expect("mpviz declares a rust-version");
    let too_new: Vec<String> = packages
        .iter()
        .filter_map(|p| {
            let rv = p["rust_version"].as_str()?;
            (version(rv) > version(ours)).then(|| format!("{} needs {rv}", p["name"]))
        })
        .collect();
    assert!(too_new.is_empty(), "rust-version {ours}, but {too_new:?}");
    // The README states the same minimum.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    assert!(
        readme.contains(&format!("Rust {ours} or newer")),
        "the README should say Rust {ours} or newer"
    );
}
