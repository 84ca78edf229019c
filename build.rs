//! Names the commit the binary was built from, for `mpviz --version` ("0.1.0 (abc1234)"), or
//! says it is unknown (a build from a source archive, no git).

fn main() {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let dirty = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .is_some_and(|o| !o.stdout.is_empty());
    let version = env!("CARGO_PKG_VERSION");
    let full = match commit {
        Some(c) if dirty => format!("{version} (commit {c}, with local changes)"),
        Some(c) => format!("{version} (commit {c})"),
        None => format!("{version} (commit unknown: built without git)"),
    };
    println!("cargo:rustc-env=MPVIZ_VERSION={full}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/index");
}
