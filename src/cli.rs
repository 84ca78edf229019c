//! The command line: every subcommand and flag, validated here with messages that name the
//! parameter and its allowed range (clap exits with code 2 on a bad one).

use clap::{Parser, Subcommand, ValueEnum};

use crate::runtime::StartMethod;
use crate::scenario::{Params, int_in};

#[derive(Debug, Parser)]
#[command(
    name = "mpviz",
    version = env!("MPVIZ_VERSION"),
    about = "Makes multiprocessing visible: re-enacts a Python multiprocessing tutorial with real OS processes",
    after_help = "Scenarios: process, queue, compare, pool, shared, lock (see `mpviz list`).\n\
                  Example: mpviz run lock --race-window-ms 30"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the terminal UI (what `mpviz` alone does).
    Ui(UiArgs),
    /// Name the scenarios, one line each.
    List,
    /// Run one scenario headless and print what happened.
    Run(RunArgs),
    /// Run a scenario without a terminal and save a picture of its screen.
    Snapshot(SnapshotArgs),
    /// Play a demo tape: run scenarios and save a picture at each named moment.
    Demo(DemoArgs),
    /// Open a recorded run (`mpviz run ... --json > run.jsonl`) in the UI, with no workers.
    Replay(ReplayArgs),
    /// Measure start latency and event throughput with real processes.
    Bench(BenchArgs),
    /// Run a real CPython program under mpviz's probe and print what its processes did
    /// (headless; every Python process of the run, its shared-value reads and writes, its
    /// locks, with every lost update identified).
    Python(PythonArgs),
    /// Print a completion script for a shell: `mpviz completions bash > ~/.local/share/bash-completion/completions/mpviz`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `mpviz man > ~/.local/share/man/man1/mpviz.1`.
    Man,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum MethodArg {
    #[default]
    /// Re-execute mpviz's own binary for each worker (like Python's "spawn").
    Reexec,
    /// Fork each worker from a small single-threaded launcher (like Python's "fork").
    Fork,
}

impl From<MethodArg> for StartMethod {
    fn from(m: MethodArg) -> Self {
        match m {
            MethodArg::Reexec => StartMethod::Reexec,
            MethodArg::Fork => StartMethod::Fork,
        }
    }
}

/// Who runs a scenario: mpviz's Rust workers, or CPython running the tutorial's program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Engine {
    /// Rust worker processes re-enact the section (every parameter can be changed).
    #[default]
    Rust,
    /// CPython runs the section's program (assets/python/) under mpviz's probe, as written.
    Python,
}

/// How a traced Python program is run, for `--engine python` and `mpviz python`.
#[derive(Debug, Clone, clap::Args, Default)]
pub struct PythonEngineArgs {
    /// Who runs the scenario: rust (mpviz's workers) or python (CPython runs the tutorial's
    /// program under mpviz's probe). [default: rust]
    #[arg(long, global = true, allow_hyphen_values = true, value_enum)]
    pub engine: Option<Engine>,
    /// The interpreter for --engine python.
    #[arg(
        long,
        global = true,
        allow_hyphen_values = true,
        value_name = "PATH",
        default_value = "python3"
    )]
    pub python: std::path::PathBuf,
    /// multiprocessing's start method for --engine python (fork, spawn or forkserver).
    /// [default: Python's]
    #[arg(long, global = true, allow_hyphen_values = true, value_parser = crate::python::START_METHODS)]
    pub mp_start_method: Option<String>,
}

#[derive(Debug, Clone, clap::Args, Default)]
pub struct UiArgs {
    /// Open this scenario at once (process, queue, compare, pool, shared, lock).
    #[arg(long, value_parser = parse_scenario)]
    pub scenario: Option<usize>,
    /// Colours: default, light, high-contrast or monochrome (NO_COLOR forces monochrome).
    /// [default: the config file's, else default]
    #[arg(long, global = true, value_parser = ["default", "light", "high-contrast", "monochrome"])]
    pub theme: Option<String>,
    /// How often the CPU bars are sampled, in milliseconds (125 to 4000). [default: the config
    /// file's, else 250]
    #[arg(long, global = true, allow_negative_numbers = true, value_parser = |s: &str| int_in::<u64>(s, 125, 4000))]
    pub refresh_ms: Option<u64>,
    /// Play the scenario's intervals faster (2 = twice as fast) or slower (0.5); 0.01 to 100
    /// (+ and - change it in the UI). [default: the config file's, else 1]
    #[arg(long, global = true, allow_negative_numbers = true, value_parser = parse_speed)]
    pub speed: Option<f64>,
    /// How workers are started. [default: the config file's, else reexec]
    #[arg(long, global = true, value_enum, allow_hyphen_values = true)]
    pub start_method: Option<MethodArg>,
    /// Read (and with S in the UI, write) the settings here instead of
    /// $XDG_CONFIG_HOME/mpviz/config.toml.
    #[arg(
        long,
        global = true,
        value_name = "FILE.toml",
        conflicts_with = "no_config"
    )]
    pub config: Option<std::path::PathBuf>,
    /// Read no config file (and write none): the built-in defaults and the flags only.
    #[arg(long, global = true)]
    pub no_config: bool,
    /// Record the session as an asciicast v2 file (plays in the asciinema player).
    #[arg(long, global = true, value_name = "FILE.cast")]
    pub record: Option<std::path::PathBuf>,
    /// Open a scenario with these parameters, written as for `mpviz run` (e.g. `mpviz ui pool
    /// --processes 8 --task-ms 100`).
    #[command(subcommand)]
    pub params: Option<crate::scenario::Params>,
    #[command(flatten)]
    pub py: PythonEngineArgs,
    /// The ids of the scenario's arguments given on the command line (the UI's pace applies
    /// to the others).
    #[arg(skip)]
    pub given: Vec<String>,
}

fn parse_scenario(s: &str) -> Result<usize, String> {
    crate::scenario::index_of(s).ok_or_else(|| {
        let names: Vec<&str> = crate::scenario::ALL.iter().map(|i| i.name).collect();
        format!("unknown scenario {s:?}; choose one of {}", names.join(", "))
    })
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Print every event, then the summary, as one JSON object per line.
    #[arg(long, global = true)]
    pub json: bool,
    /// How workers are started.
    #[arg(long, value_enum, default_value_t = MethodArg::Reexec, global = true, allow_hyphen_values = true)]
    pub start_method: MethodArg,
    /// Also write the run as Chrome trace events (opens in Perfetto or chrome://tracing).
    #[arg(
        long,
        value_name = "FILE.json",
        global = true,
        allow_hyphen_values = true
    )]
    pub trace_out: Option<std::path::PathBuf>,
    /// Workers send only their start, phases, results, errors and exit, not every read, write,
    /// queue item and lock step: the answer at full speed, without the picture.
    #[arg(long, global = true)]
    pub no_trace: bool,
    /// Play the scenario's intervals faster (2 = twice as fast) or slower (0.5); 0.01 to 100.
    #[arg(long, allow_negative_numbers = true, default_value_t = 1.0, value_parser = parse_speed, global = true)]
    pub speed: f64,
    #[command(flatten)]
    pub py: PythonEngineArgs,
    #[command(subcommand)]
    pub scenario: Params,
    /// The ids of the scenario's arguments given on the command line.
    #[arg(skip)]
    pub given: Vec<String>,
}

pub(crate) fn parse_speed(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number between 0.01 and 100"))?;
    if !(0.01..=100.0).contains(&v) {
        return Err(format!("{v} is not between 0.01 and 100"));
    }
    Ok(v)
}

#[derive(Debug, clap::Args)]
pub struct SnapshotArgs {
    /// Where to write the picture; the extension picks the format (.svg .html .txt .ans).
    #[arg(long, global = true, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
    /// The format, whatever the file is called.
    #[arg(long, value_enum, global = true)]
    pub format: Option<crate::export::Format>,
    /// Also record the run's screen as an asciicast v2 file.
    #[arg(long, value_name = "FILE.cast", global = true)]
    pub record: Option<std::path::PathBuf>,
    /// Screen size in cells, WIDTHxHEIGHT (80x24 to 500x200).
    #[arg(long, default_value = "120x40", value_parser = parse_size, global = true)]
    pub size: (u16, u16),
    /// Take the picture this many seconds after the start (0 to 600).
    #[arg(long, allow_negative_numbers = true, conflicts_with = "when", value_parser = parse_at, global = true)]
    pub at: Option<f64>,
    /// Take the picture at this moment of the run (default: done).
    #[arg(long, value_enum, global = true)]
    pub when: Option<crate::snapshot::Moment>,
    /// Colours: default, light, high-contrast or monochrome.
    #[arg(long, value_parser = ["default", "light", "high-contrast", "monochrome"], global = true)]
    pub theme: Option<String>,
    /// How workers are started.
    #[arg(long, value_enum, default_value_t = MethodArg::Reexec, global = true, allow_hyphen_values = true)]
    pub start_method: MethodArg,
    /// Play the scenario's intervals faster (2) or slower (0.5); 0.01 to 100.
    #[arg(long, default_value_t = 1.0, value_parser = parse_speed, global = true)]
    pub speed: f64,
    #[command(flatten)]
    pub py: PythonEngineArgs,
    #[command(subcommand)]
    pub scenario: SnapshotOf,
    /// The ids of the scenario's arguments given on the command line.
    #[arg(skip)]
    pub given: Vec<String>,
}

/// What `mpviz snapshot` takes a picture of.
#[derive(Debug, clap::Subcommand)]
pub enum SnapshotOf {
    #[command(flatten)]
    Scenario(Params),
    /// A real CPython program under mpviz's probe, the tutorial's or your own (--python PATH
    /// picks the interpreter, --mp-start-method its start method)
    Python {
        /// The script.
        script: std::path::PathBuf,
        /// Its arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The recording: JSON lines as `mpviz run ... --json` prints them.
    pub file: std::path::PathBuf,
    /// Colours: default, light, high-contrast or monochrome. [default: the config file's]
    #[arg(long, value_parser = ["default", "light", "high-contrast", "monochrome"])]
    pub theme: Option<String>,
    /// Read the settings here instead of $XDG_CONFIG_HOME/mpviz/config.toml.
    #[arg(long, value_name = "FILE.toml", conflicts_with = "no_config")]
    pub config: Option<std::path::PathBuf>,
    /// Read no config file.
    #[arg(long)]
    pub no_config: bool,
}

#[derive(Debug, clap::Args)]
pub struct PythonArgs {
    /// Print every event, then the summary, as one JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// The interpreter to run the script with.
    #[arg(long, value_name = "PATH", default_value = "python3")]
    pub python: std::path::PathBuf,
    /// multiprocessing's start method (fork, spawn or forkserver), unless the script sets its
    /// own. [default: Python's]
    #[arg(long, value_parser = crate::python::START_METHODS)]
    pub start_method: Option<String>,
    /// Play the program's `time.sleep` intervals faster (2) or slower (0.5); 0.01 to 100
    /// (+ and - change it in the UI).
    #[arg(long, allow_negative_numbers = true, default_value_t = 1.0, value_parser = parse_speed)]
    pub speed: f64,
    /// Also write the run as Chrome trace events (opens in Perfetto or chrome://tracing).
    #[arg(long, value_name = "FILE.json")]
    pub trace_out: Option<std::path::PathBuf>,
    /// Record the UI session as an asciicast v2 file (plays in the asciinema player).
    #[arg(long, value_name = "FILE.cast", conflicts_with_all = ["json", "trace_out"])]
    pub record: Option<std::path::PathBuf>,
    /// The script.
    pub script: std::path::PathBuf,
    /// Its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// The tape (see assets/demo.tape): `run SCENARIO [PARAMS]`, `size WxH`, `theme NAME`,
    /// `shot MOMENT|SECONDS FILE`.
    pub tape: std::path::PathBuf,
}

/// Parses `WIDTHxHEIGHT` within 80x24 ..= 500x200.
pub fn parse_size(s: &str) -> Result<(u16, u16), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("{s:?} is not WIDTHxHEIGHT from 80x24 up to 500x200"))?;
    let w: u16 = int_in(w, 80, 500)?;
    let h: u16 = int_in(h, 24, 200)?;
    Ok((w, h))
}

fn parse_at(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number between 0 and 600"))?;
    if !(0.0..=600.0).contains(&v) {
        return Err(format!("{v} is not between 0 and 600"));
    }
    Ok(v)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchWhat {
    /// Spawn latency for each start method.
    Spawn,
    /// Events per second one worker streams to the parent.
    Events,
    /// Items per second through a queue from one producer.
    Queue,
    /// Pool(2).map over 1M items, and a batch of apply_async calls.
    Pool,
    /// Increments under the robust lock, alone and with two contending.
    Lock,
    /// Events from two workers into the UI's state, with frame times meanwhile.
    Ingest,
    /// What tracing costs a worker per shared-value write.
    Trace,
    /// The compare scenario's ratios, and how far watching it in the UI changes them.
    Observer,
    /// A 64-process pool watched in the UI: frame times and key answers.
    Pool64,
    /// Eight CPython processes (`python3`, under the probe) writing a shared Value as fast as
    /// they can, every event into the UI's state, frame times meanwhile. Not part of `all`.
    PythonIngest,
    All,
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[arg(value_enum, default_value_t = BenchWhat::All)]
    pub what: BenchWhat,
    /// One JSON object per figure: {"name", "value", "unit"}.
    #[arg(long)]
    pub json: bool,
    /// Processes started per start method (1 to 10000).
    #[arg(long, allow_negative_numbers = true, default_value_t = 200, value_parser = |s: &str| int_in::<u32>(s, 1, 10_000))]
    pub spawns: u32,
    /// Events the worker sends (1000 to 1000000000).
    #[arg(long, allow_negative_numbers = true, default_value_t = 5_000_000, value_parser = |s: &str| int_in::<u64>(s, 1000, 1_000_000_000))]
    pub events: u64,
}

/// A command-line error as mpviz prints it: clap's message up to its first blank line, on one
/// line (so the allowed values it lists below the first line stay with it).
pub fn one_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let lines: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    lines.join(" ")
}
