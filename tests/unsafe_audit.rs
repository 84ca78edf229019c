//! `unsafe` lives in one module (`src/runtime/sys.rs`, the crate denies it elsewhere), and
//! every use of it there says why it is sound in a `SAFETY:` comment just above.

fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src").flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Lines that use `unsafe` in code (not in a comment).
fn unsafe_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let code = l.split("//").next().unwrap_or("");
            code.split(|c: char| !c.is_alphanumeric() && c != '_')
                .any(|w| w == "unsafe")
                && !code.contains("unsafe_code")
        })
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn unsafe_is_only_in_sys_rs_and_each_use_says_why() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let sys = root.join("src/runtime/sys.rs");
    let mut uses = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        let found = unsafe_lines(&text);
        if f != sys {
            assert!(
                found.is_empty(),
                "unsafe in {}: lines {found:?}",
                f.display()
            );
            continue;
        }
        let lines: Vec<&str> = text.lines().collect();
        for i in found {
            uses += 1;
            let above = &lines[i.saturating_sub(4)..=i];
            assert!(
                above.iter().any(|l| l.contains("SAFETY:")),
                "sys.rs line {} uses unsafe without a SAFETY: comment above it",
                i + 1
            );
        }
    }
    assert!(uses > 0, "sys.rs is where the unsafe code is");
}
