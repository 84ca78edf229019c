//! Settings that stick: the UI's theme, CPU refresh, speed and start method, kept in
//! `$XDG_CONFIG_HOME/mpviz/config.toml` (`~/.config/mpviz/config.toml` without it), read at
//! start and written when the user asks (`S` in the UI). Each setting is also a flag, and a
//! flag given on the command line wins over the file.
//!
//! A damaged file never stops mpviz: each problem is one line naming the file, the line and the
//! setting, the bad setting falls back to its default (a file that is not TOML at all: every
//! setting does), and the UI starts.

use std::ops::Range;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use serde::Deserialize;
use toml::Spanned;

use crate::cli::MethodArg;

/// The settings a config file can hold, each `None` when the file does not set it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// A theme's name (`ui::theme::THEMES`).
    pub theme: Option<String>,
    /// How often the CPU bars are sampled (125 to 4000 ms).
    pub refresh_ms: Option<u64>,
    /// Speed as a factor of the tutorial's intervals (0.01 to 100; 2 = twice as fast).
    pub speed: Option<f64>,
    pub start_method: Option<MethodArg>,
}

/// The settings' names as the file spells them, with what each accepts (for messages).
pub const KNOWN: [(&str, &str); 4] = [
    (
        "theme",
        "\"default\", \"light\", \"high-contrast\" or \"monochrome\"",
    ),
    ("refresh_ms", "an integer from 125 to 4000"),
    ("speed", "a number from 0.01 to 100"),
    ("start_method", "\"reexec\" or \"fork\""),
];

/// What reading a config file gave: the settings that were good, and one line per problem.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub settings: Settings,
    pub problems: Vec<String>,
}

/// Where the config file is by default: `$XDG_CONFIG_HOME/mpviz/config.toml`, else
/// `$HOME/.config/mpviz/config.toml` (relative values are ignored, as the XDG spec says).
pub fn default_path() -> Option<PathBuf> {
    let absolute = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let base =
        absolute("XDG_CONFIG_HOME").or_else(|| absolute("HOME").map(|h| h.join(".config")))?;
    Some(base.join("mpviz").join("config.toml"))
}

/// Reads `path`. A file that is not there is no problem (nothing set), unless `named` (the
/// user gave it with `--config`), when it is said once.
pub fn read(path: &Path, named: bool) -> Loaded {
    match crate::export::files::read_text(path, MAX_BYTES, "a config file") {
        Ok(text) => parse(path, &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Loaded {
            problems: if named {
                vec![format!(
                    "{}: no such file; starting with the defaults (S in the UI writes it)",
                    path.display()
                )]
            } else {
                Vec::new()
            },
            ..Loaded::default()
        },
        Err(e) => Loaded {
            problems: vec![format!(
                "{}: cannot read it ({e}); starting with the defaults",
                path.display()
            )],
            ..Loaded::default()
        },
    }
}

/// A config file is small; anything larger is not one.
const MAX_BYTES: u64 = 64 * 1024;

#[derive(Deserialize)]
#[serde(transparent)]
struct Raw(std::collections::BTreeMap<Spanned<String>, Spanned<toml::Value>>);

/// Parses the text of a config file (`path` only names it in messages).
pub fn parse(path: &Path, text: &str) -> Loaded {
    let at = |span: Range<usize>| format!("{} line {}", path.display(), line_of(text, span.start));
    let raw: Raw = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let place = e.span().map_or_else(|| path.display().to_string(), at);
            let why = e.message().lines().next().unwrap_or("not TOML").to_string();
            return Loaded {
                problems: vec![format!("{place}: {why}; starting with the defaults")],
                ..Loaded::default()
            };
        }
    };
    let mut out = Loaded::default();
    // (where, what): said in the file's order.
    let mut problems: Vec<(usize, String)> = Vec::new();
    for (key, value) in raw.0 {
        let name = key.get_ref().as_str();
        let Some((_, accepts)) = KNOWN.iter().find(|(k, _)| *k == name) else {
            let names: Vec<&str> = KNOWN.iter().map(|(k, _)| *k).collect();
            problems.push((
                key.span().start,
                format!(
                    "{}: unknown setting `{name}` (mpviz reads {}); ignored",
                    at(key.span()),
                    names.join(", ")
                ),
            ));
            continue;
        };
        let span = value.span();
        let v = value.into_inner();
        let s = &mut out.settings;
        let ok = match name {
            "theme" => v
                .as_str()
                .filter(|t| crate::ui::theme::THEMES.iter().any(|th| th.name == *t))
                .map(|t| s.theme = Some(t.to_string())),
            "refresh_ms" => v
                .as_integer()
                .filter(|ms| (125..=4000).contains(ms))
                .map(|ms| s.refresh_ms = Some(ms as u64)),
            "speed" => v
                .as_float()
                .or_else(|| v.as_integer().map(|i| i as f64))
                .filter(|x| (0.01..=100.0).contains(x))
                .map(|x| s.speed = Some(x)),
            _ => v
                .as_str()
                .and_then(|m| MethodArg::from_str(m, false).ok())
                .map(|m| s.start_method = Some(m)),
        };
        if ok.is_none() {
            problems.push((
                span.start,
                format!(
                    "{}: {name} = {v} is not {accepts}; using the default",
                    at(span.clone())
                ),
            ));
        }
    }
    problems.sort();
    out.problems = problems.into_iter().map(|(_, p)| p).collect();
    out
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Writes `s` to `path`, keeping whatever else the file says (comments, order) when it is
/// TOML already; makes the directory (mode 0700) if needed. A symbolic link at `path` is
/// refused (a dotfiles manager's link would be replaced by a file).
pub fn save(path: &Path, s: &Settings) -> std::io::Result<()> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(std::io::Error::other(
            "it is a symbolic link; mpviz does not write through links (edit the file it \
             points to, or give --config)",
        ));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let old = crate::export::files::read_text(path, MAX_BYTES, "a config file").unwrap_or_default();
    let mut doc: toml_edit::DocumentMut = old.parse().unwrap_or_else(|_| {
        let mut d = toml_edit::DocumentMut::new();
        d.decor_mut().set_prefix(
            "# mpviz settings, written by the UI (S); every one is also a flag.\n\
             # theme: default, light, high-contrast, monochrome; refresh_ms: 125-4000;\n\
             # speed: 0.01-100 (2 = twice as fast); start_method: reexec or fork.\n",
        );
        d
    });
    if let Some(t) = &s.theme {
        doc["theme"] = toml_edit::value(t.as_str());
    }
    if let Some(ms) = s.refresh_ms {
        doc["refresh_ms"] = toml_edit::value(ms as i64);
    }
    if let Some(x) = s.speed {
        doc["speed"] = toml_edit::value(x);
    }
    if let Some(m) = s.start_method
        && let Some(v) = m.to_possible_value()
    {
        doc["start_method"] = toml_edit::value(v.get_name());
    }
    crate::export::files::write_whole(path, doc.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_settings_are_read_and_each_bad_one_is_named_with_its_line() {
        let p = Path::new("/home/t/.config/mpviz/config.toml");
        let l = parse(
            p,
            "# mine\ntheme = \"high-contrast\"\nrefresh_ms = 10\nspeed = 2\nstart_method = \"fork\"\ncolour = 1\n",
        );
        assert_eq!(l.settings.theme.as_deref(), Some("high-contrast"));
        assert_eq!(l.settings.refresh_ms, None);
        assert_eq!(l.settings.speed, Some(2.0));
        assert_eq!(l.settings.start_method, Some(MethodArg::Fork));
        assert_eq!(l.problems.len(), 2, "{:?}", l.problems);
        assert!(
            l.problems[0].starts_with(
                "/home/t/.config/mpviz/config.toml line 3: refresh_ms = 10 is not an integer"
            ),
            "{:?}",
            l.problems
        );
        assert!(
            l.problems[1].contains("line 6: unknown setting `colour`"),
            "{:?}",
            l.problems
        );
        // Not TOML: one line with the line number, every setting at its default.
        let l = parse(p, "theme = \"light\"\nrefresh_ms = = 3\n");
        assert_eq!(l.settings, Settings::default());
        assert_eq!(l.problems.len(), 1);
        assert!(l.problems[0].contains("line 2: "), "{:?}", l.problems);
        assert!(!l.problems[0].contains('\n'));
        // A wrong type is a bad value, not the end of the file.
        let l = parse(p, "theme = 3\nspeed = 0.5\n");
        assert_eq!(l.settings.speed, Some(0.5));
        assert!(
            l.problems[0].contains("line 1: theme = 3 is not"),
            "{:?}",
            l.problems
        );
    }

    #[test]
    fn saving_keeps_the_users_comments_and_reads_back() {
        let dir = std::env::temp_dir().join(format!("mpviz-config-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("mpviz").join("config.toml");
        let s = Settings {
            theme: Some("light".into()),
            refresh_ms: Some(500),
            speed: Some(0.5),
            start_method: Some(MethodArg::Reexec),
        };
        save(&path, &s).expect("save");
        assert_eq!(read(&path, true).settings, s);
        let mut text = std::fs::read_to_string(&path).expect("read");
        text.insert_str(0, "# for my class\n");
        std::fs::write(&path, text).expect("write");
        save(
            &path,
            &Settings {
                theme: Some("monochrome".into()),
                ..s.clone()
            },
        )
        .expect("save again");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains("# for my class"), "{text}");
        assert_eq!(
            read(&path, true).settings.theme.as_deref(),
            Some("monochrome")
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path.parent().expect("dir"))
            .expect("dir")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        // A link is refused, not replaced.
        let link = dir.join("link.toml");
        std::os::unix::fs::symlink(&path, &link).expect("link");
        assert!(save(&link, &s).is_err());
        assert!(
            std::fs::symlink_metadata(&link)
                .expect("link")
                .file_type()
                .is_symlink()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
