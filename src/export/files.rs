//! Files mpviz writes (pictures, traces, recordings), made so that a planted symbolic link can
//! never redirect them: a whole file is written to a fresh temporary name in the target's
//! directory (created exclusively, so no link there is followed) and renamed over the target
//! (a rename replaces a link itself, never what it points to); a file written as it goes is
//! opened with `O_NOFOLLOW`, which refuses a link outright, and only kept if it is a regular
//! file with no other name (a planted FIFO, device or hard link is refused, not written).
//! Neither ever replaces something that is not a regular file: a rename over `/dev/null` run
//! as root would replace the device.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Writes `bytes` as the whole of `path`, replacing what is there, through a fresh temporary
/// file beside it.
pub fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    refuse_special(path)?;
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
    use std::os::unix::fs::MetadataExt;
    // Non-blocking, so that a FIFO without a reader fails (ENXIO) instead of hanging; not
    // truncating until the file is known to be ours to replace.
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENXIO) => not_regular(path),
            _ => refused_link(path, e),
        })?;
    let meta = f.metadata()?;
    if !meta.file_type().is_file() {
        return Err(not_regular(path));
    }
    if meta.nlink() > 1 {
        return Err(std::io::Error::other(format!(
            "{} has other hard links; mpviz does not write through them",
            path.display()
        )));
    }
    nix::fcntl::fcntl(
        &f,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::empty()),
    )?;
    f.set_len(0)?;
    Ok(f)
}

/// Refuses an existing `path` that is neither a regular file nor a symbolic link (which a
/// rename replaces without following).
fn refuse_special(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_file() && !m.file_type().is_symlink() => Err(not_regular(path)),
        _ => Ok(()),
    }
}

fn not_regular(path: &Path) -> std::io::Error {
    std::io::Error::other(format!(
        "{} is not a regular file; mpviz writes only regular files",
        path.display()
    ))
}

/// Reads the text file `path` whole: only a regular file (a FIFO or device is refused, and
/// the open never blocks), of at most `max` bytes; a UTF-8 byte-order mark (some editors write
/// one) is dropped. `what` names the file's kind in the refusals.
pub fn read_text(path: &Path, max: u64, what: &str) -> std::io::Result<String> {
    use std::io::Read;
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other(format!(
            "it is not a regular file ({what} is a text file)"
        )));
    }
    if meta.len() > max {
        return Err(std::io::Error::other(format!(
            "{} bytes is more than {what} can be ({max} at most)",
            meta.len()
        )));
    }
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let mut text = String::new();
    f.take(max + 1).read_to_string(&mut text)?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// Whether `path` can be written (before a run starts): its directory is there and writable,
/// and `path` is not a symbolic link. Nothing is created.
pub fn check_writable(path: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(std::io::Error::other(
            "it is a symbolic link; mpviz does not write through links",
        ));
    }
    if std::fs::symlink_metadata(path).is_ok_and(|m| !m.file_type().is_file()) {
        return Err(std::io::Error::other(
            "it is not a regular file; mpviz writes only regular files",
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
    use std::os::unix::fs::FileTypeExt;

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

    #[test]
    fn a_planted_fifo_hard_link_or_device_is_refused_at_once() {
        let dir = std::env::temp_dir().join(format!("mpviz-special-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        // A FIFO with no reader: the open must fail, not wait for one.
        let fifo = dir.join("rec.cast");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("fifo");
        assert!(check_writable(&fifo).is_err());
        let e = create_streamed(&fifo).expect_err("a FIFO is refused");
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let e = write_whole(&fifo, b"x").expect_err("and not replaced");
        assert!(e.to_string().contains("not a regular file"), "{e}");
        assert!(
            std::fs::symlink_metadata(&fifo)
                .expect("meta")
                .file_type()
                .is_fifo()
        );
        // A second name of a precious file: refused, the file unchanged.
        let victim = dir.join("victim");
        std::fs::write(&victim, "precious").expect("victim");
        let twin = dir.join("twin.cast");
        std::fs::hard_link(&victim, &twin).expect("hard link");
        let e = create_streamed(&twin).expect_err("a hard link is refused");
        assert!(e.to_string().contains("hard links"), "{e}");
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "precious");
        // A device is never replaced (as root a rename would replace it).
        let e = write_whole(Path::new("/dev/null"), b"x").expect_err("a device");
        assert!(e.to_string().contains("not a regular file"), "{e}");
        // A regular file of our own is replaced from the start.
        let ours = dir.join("ours.cast");
        std::fs::write(&ours, "old recording, longer than the new").expect("ours");
        let mut f = create_streamed(&ours).expect("ours");
        f.write_all(b"new").expect("write");
        drop(f);
        assert_eq!(std::fs::read_to_string(&ours).expect("read"), "new");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
