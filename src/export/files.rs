//! Files mpviz writes (pictures, traces, recordings), made so that a planted symbolic link can
//! never redirect them: a whole file is written to a fresh temporary name in the target's
//! directory (created exclusively, so no link there is followed) and renamed over the target
//! (a rename replaces a link itself, never what it points to); a file written as it goes is
//! opened with `O_NOFOLLOW`, which refuses a link outright.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Writes `bytes` as the whole of `path`, replacing what is there, through a fresh temporary
/// file beside it.
pub fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("the path names no file"))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        crate::runtime::shm::random_hex()
    ));
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)?;
    let written = f.write_all(bytes).and_then(|()| f.sync_all());
    drop(f);
    match written.and_then(|()| std::fs::rename(&tmp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Opens `path` to be written from the start as it goes (a recording), refusing a symbolic
/// link at `path` rather than writing wherever it points.
pub fn create_streamed(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| refused_link(path, e))
}

/// Whether `path` can be written (before a run starts): its directory is there and writable,
/// and `path` is not a symbolic link. Nothing is created.
pub fn check_writable(path: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(std::io::Error::other(
            "it is a symbolic link; mpviz does not write through links",
        ));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let probe = dir.join(format!(
        ".mpviz-probe.{}",
        crate::runtime::shm::random_hex()
    ));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&probe)
        .map(|_| {
            let _ = std::fs::remove_file(&probe);
        })
}

fn refused_link(path: &Path, e: std::io::Error) -> std::io::Error {
    if e.raw_os_error() == Some(libc::ELOOP) {
        std::io::Error::other(format!(
            "{} is a symbolic link; mpviz does not write through links",
            path.display()
        ))
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planted_link_is_replaced_or_refused_never_followed() {
        let dir = std::env::temp_dir().join(format!("mpviz-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let victim = dir.join("victim");
        std::fs::write(&victim, "precious").expect("victim");
        let out = dir.join("out.svg");
        let _ = std::fs::remove_file(&out);
        std::os::unix::fs::symlink(&victim, &out).expect("link");
        assert!(
            check_writable(&out).is_err(),
            "a link is refused before the run"
        );
        assert!(
            create_streamed(&out).is_err(),
            "a stream never opens through a link"
        );
        write_whole(&out, b"picture").expect("write");
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "precious");
        assert_eq!(std::fs::read_to_string(&out).expect("read"), "picture");
        assert!(
            !std::fs::symlink_metadata(&out)
                .expect("meta")
                .file_type()
                .is_symlink()
        );
        // A dangling link too.
        let dangling = dir.join("dangling.json");
        let _ = std::fs::remove_file(&dangling);
        std::os::unix::fs::symlink(dir.join("nowhere"), &dangling).expect("link");
        write_whole(&dangling, b"{}").expect("write");
        assert!(
            !dir.join("nowhere").exists(),
            "nothing made where the link pointed"
        );
        let left: Vec<_> = std::fs::read_dir(&dir)
            .expect("dir")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "no temporary file is left");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
