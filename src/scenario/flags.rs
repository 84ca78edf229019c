//! Parameters as editable text: every scenario's parameters turned into (flag, value) pairs and
//! back through the same command-line parser, so the UI's parameter form validates exactly as
//! `mpviz run` does and shows the same messages.

use super::{Params, lock, shared};
use crate::runtime::Access;

/// One editable parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    pub name: &'static str,
    /// Empty means "not given" (the scenario's default applies).
    pub value: String,
    /// Allowed values, when there is a fixed set (`on`/`off` for switches).
    pub choices: &'static [&'static str],
}

const ON_OFF: &[&str] = &["off", "on"];

fn text(name: &'static str, value: impl ToString) -> Flag {
    Flag {
        name,
        value: value.to_string(),
        choices: &[],
    }
}

fn opt(name: &'static str, value: Option<impl ToString>) -> Flag {
    Flag {
        name,
        value: value.map_or(String::new(), |v| v.to_string()),
        choices: &[],
    }
}

fn list(v: impl IntoIterator<Item = impl ToString>) -> String {
    v.into_iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn cell(c: &shared::CellArg) -> String {
    format!("{}:{}", c.typecode.as_char(), list(c.init.iter()))
}

/// What `flag` of scenario `name` means: its help text from the command line's definitions,
/// so the form says what the field is for in the same words as `mpviz run NAME --help`.
pub fn help_of(name: &str, flag: &str) -> Option<String> {
    #[derive(clap::Parser)]
    struct Wrapper {
        #[command(subcommand)]
        params: Params,
    }
    let cmd = <Wrapper as clap::CommandFactory>::command();
    let sc = cmd.find_subcommand(name)?;
    let arg = sc.get_arguments().find(|a| {
        a.get_long()
            .is_some_and(|l| flag.strip_prefix("--") == Some(l))
    })?;
    let help = arg.get_long_help().or_else(|| arg.get_help())?.to_string();
    Some(help.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The parameters of `p` as flags, in the order the form shows them.
pub fn to_flags(p: &Params) -> Vec<Flag> {
    match p {
        Params::Process(p) => vec![
            text("--args", format!("{},{}", p.args.0, p.args.1)),
            text("--pace-ms", p.pace_ms),
        ],
        Params::Queue(p) => vec![
            text("--n", p.n),
            text("--workers", p.workers),
            text("--pace-ms", p.pace_ms),
        ],
        Params::Compare(p) => vec![
            opt("--seconds", p.seconds),
            text("--n", p.n),
            Flag {
                name: "--gil",
                value: if p.gil { "on" } else { "off" }.into(),
                choices: ON_OFF,
            },
            text("--switch-interval-ms", p.switch_interval_ms),
        ],
        Params::Pool(p) => vec![
            opt("--processes", p.processes),
            text("--map-n", p.map_n),
            opt("--chunksize", p.chunksize),
            text("--apply-arg", p.apply_arg),
            text("--apply-list-n", p.apply_list_n),
            text(
                "--bad-args",
                p.bad_args
                    .0
                    .as_ref()
                    .map_or("none".into(), |a| list(a.iter())),
            ),
            text("--task-ms", p.task_ms),
            text("--roundtrips", p.roundtrips),
        ],
        Params::Shared(p) => {
            let cells = p.cells();
            vec![
                text(
                    "--value",
                    cells
                        .iter()
                        .filter(|c| !c.array)
                        .map(cell)
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                text(
                    "--array",
                    cells
                        .iter()
                        .filter(|c| c.array)
                        .map(cell)
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                text("--workers", p.workers),
                text("--steps", p.steps),
                text("--interval-ms", p.interval_ms),
            ]
        }
        Params::Lock(p) => {
            vec![
                text("--deltas", list(p.deltas.0.iter())),
                Flag {
                    name: "--mode",
                    value: p
                        .mode
                        .map_or("both", |m| match m {
                            lock::Mode::Unlocked => "unlocked",
                            lock::Mode::Locked => "locked",
                            lock::Mode::Both => "both",
                        })
                        .into(),
                    choices: &["both", "unlocked", "locked"],
                },
                opt("--steps", p.steps),
                text("--interval-ms", p.interval_ms),
                text("--race-window-ms", p.race_window_ms),
                Flag {
                    name: "--granularity",
                    value: match p.granularity {
                        lock::Granularity::Loop => "loop",
                        lock::Granularity::Step => "step",
                    }
                    .into(),
                    choices: &["loop", "step"],
                },
                opt(
                    "--step-script",
                    p.step_script.as_ref().map(|s| {
                        list(s.0.iter().map(|(w, a)| {
                            format!("{w}{}", if *a == Access::Read { "r" } else { "w" })
                        }))
                    }),
                ),
            ]
        }
    }
}

/// Parses flags for scenario `name` with the command line's own parser and messages.
pub fn from_flags(name: &str, flags: &[Flag]) -> Result<Params, String> {
    #[derive(clap::Parser)]
    #[command(name = "mpviz run")]
    struct Wrapper {
        #[command(subcommand)]
        params: Params,
    }
    let mut args = vec!["mpviz".to_string(), name.to_string()];
    for f in flags {
        let v = f.value.trim();
        match (f.choices, v) {
            (_, "") => {}
            (ON_OFF, "on") => args.push(f.name.into()),
            (ON_OFF, _) => {}
            // Repeatable flags (shared's cells) are separated by spaces.
            _ if f.name == "--value" || f.name == "--array" => {
                for part in v.split_whitespace() {
                    args.push(format!("{}={part}", f.name));
                }
            }
            _ => args.push(format!("{}={v}", f.name)),
        }
    }
    let params = <Wrapper as clap::Parser>::try_parse_from(args)
        .map(|w| w.params)
        .map_err(|e| {
            e.to_string()
                .lines()
                .next()
                .unwrap_or("invalid parameters")
                .trim_start_matches("error: ")
                .to_string()
        })?;
    params.check()?;
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_round_trips_through_its_flags() {
        for s in super::super::ALL {
            let p = super::super::default_params(s.name).expect("defaults");
            let flags = to_flags(&p);
            let back = from_flags(s.name, &flags).expect("parses back");
            assert_eq!(to_flags(&back), flags, "{}", s.name);
        }
    }

    #[test]
    fn a_bad_value_gets_the_command_lines_message() {
        let p = super::super::default_params("lock").expect("defaults");
        let mut flags = to_flags(&p);
        flags[0].value = "1,0".into();
        let err = from_flags("lock", &flags).expect_err("refused");
        assert!(
            err.contains("--deltas") && err.contains("between 1 and 1000"),
            "{err}"
        );
    }
}
