//! mpviz's binary: picks the front end (headless run, list, bench) or, when started by mpviz
//! itself, the hidden worker and launcher entry points.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches};

use mpviz::cli::{Cli, Command, PythonArgs, ReplayArgs, RunArgs, SnapshotArgs, UiArgs};
use mpviz::runtime::launcher::launcher_main;
use mpviz::runtime::spawn::interrupt_flag;
use mpviz::runtime::worker::worker_main;
use mpviz::runtime::{Envelope, RuntimeOptions};
use mpviz::scenario::{self, RunError, job::dispatch};
use mpviz::tui::UiOptions;
use mpviz::{bench, report};

/// Exit codes: 0 all as expected, 1 the run finished with problems, 2 bad usage,
/// 130 interrupted.
const EXIT_PROBLEMS: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_INTERRUPTED: u8 = 130;

/// Bad command-line input: one line naming the parameter and what it accepts (clap's message
/// up to its blank line, with any "possible values" folded in), exit code 2. Help and version
/// requests print as clap prints them.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    eprintln!("{}", mpviz::cli::one_line(&e));
    ExitCode::from(2)
}

fn main() -> ExitCode {
    // Hidden entry points first, before any thread or signal handler exists.
    match std::env::args_os()
        .nth(1)
        .as_deref()
        .and_then(|a| a.to_str())
    {
        Some("__worker") => std::process::exit(worker_main(dispatch)),
        Some("__launcher") => std::process::exit(launcher_main(dispatch)),
        Some("__keeper") => std::process::exit(mpviz::python::keeper::keeper_main()),
        _ => {}
    }
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        // The run loop checks the flag and cleans up (kills and reaps workers, unlinks the
        // segment, restores the terminal) before leaving. Any number of signals, in any mix,
        // only set it again: a second signal must never skip the clean-up (an `_exit` on the
        // second one left segments and a raw terminal behind); the clean-up itself is bounded.
        let _ = signal_hook::flag::register(sig, interrupt_flag());
    }
    let matches = match Cli::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => return usage_error(e),
    };
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    // The flags the user gave, at the subcommand's level and the scenario's.
    let given_in = |sub: &str| -> Vec<String> {
        let Some(m) = matches.subcommand_matches(sub) else {
            return Vec::new();
        };
        let scenario = m.subcommand().map(|(_, s)| s);
        let mut ids: Vec<String> = Vec::new();
        for m in std::iter::once(m).chain(scenario) {
            for id in m.ids() {
                if m.value_source(id.as_str()) == Some(clap::parser::ValueSource::CommandLine)
                    && !ids.iter().any(|i| i == id.as_str())
                {
                    ids.push(id.to_string());
                }
            }
        }
        ids
    };
    match &mut cli.command {
        Some(Command::Ui(a)) => a.given = given_in("ui"),
        Some(Command::Run(a)) => a.given = given_in("run"),
        Some(Command::Snapshot(a)) => a.given = given_in("snapshot"),
        _ => {}
    }
    // What the parser cannot see (a step script against its run): refused before anything.
    let given = match &cli.command {
        Some(Command::Run(a)) => Some(&a.scenario),
        Some(Command::Snapshot(a)) => match &a.scenario {
            mpviz::cli::SnapshotOf::Scenario(p) => Some(p),
            mpviz::cli::SnapshotOf::Python { .. } => None,
        },
        Some(Command::Ui(a)) => a.params.as_ref(),
        _ => None,
    };
    if let Some(Err(e)) = given.map(mpviz::scenario::Params::check) {
        eprintln!("mpviz: {e}");
        return ExitCode::from(EXIT_USAGE);
    }
    match cli.command {
        None => ui(UiArgs::default()),
        Some(Command::Ui(args)) => ui(args),
        Some(Command::List) => {
            print_list();
            ExitCode::SUCCESS
        }
        Some(Command::Run(args)) => run(args),
        Some(Command::Snapshot(args)) => snapshot(args),
        Some(Command::Demo(args)) => demo(&args.tape),
        Some(Command::Replay(args)) => replay(args),
        Some(Command::Python(args)) => python(args),
        Some(Command::Completions { shell }) => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "mpviz", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Some(Command::Man) => {
            let mut out = std::io::stdout().lock();
            match clap_mangen::Man::new(Cli::command()).render(&mut out) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("mpviz: cannot write the manual page: {e}");
                    ExitCode::from(EXIT_PROBLEMS)
                }
            }
        }
        Some(Command::Bench(args)) => match bench::run(&args) {
            Ok(figs) => {
                let lines = figs.iter().map(|f| {
                    if args.json {
                        serde_json::to_string(f).unwrap_or_default()
                    } else {
                        format!("{:<24} {:>14.3} {}", f.name, f.value, f.unit)
                    }
                });
                print_lines(lines);
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
    }
}

/// The flags of `mpviz run` and `mpviz ui` that only the Rust engine has, as given (kebab
/// case): every scenario parameter, and how workers start and trace.
fn rust_only(given: &[String]) -> Vec<String> {
    const BOTH: [&str; 18] = [
        "out",
        "format",
        "size",
        "at",
        "when",
        "json",
        "trace_out",
        "speed",
        "engine",
        "python",
        "mp_start_method",
        "theme",
        "refresh_ms",
        "config",
        "no_config",
        "record",
        "scenario",
        "params",
    ];
    given
        .iter()
        .filter(|g| !BOTH.contains(&g.as_str()))
        .map(|g| g.replace('_', "-"))
        .collect()
}

/// `--mp-start-method` is refused without `--engine python`.
fn python_only(py: &mpviz::cli::PythonEngineArgs) -> Option<ExitCode> {
    (py.engine != Some(mpviz::cli::Engine::Python) && py.mp_start_method.is_some()).then(|| {
        eprintln!(
            "mpviz: --mp-start-method is for --engine python (the Rust engine's is \
             --start-method reexec|fork)"
        );
        ExitCode::from(EXIT_USAGE)
    })
}

fn ui(args: UiArgs) -> ExitCode {
    if let Some(code) = python_only(&args.py) {
        return code;
    }
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!(
            "mpviz: the UI needs a terminal, and this is not one. For scripts and pipes use \
             `mpviz run SCENARIO` (see `mpviz list`), with --json for one object per line."
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let (config, file) = read_config(args.config, args.no_config);
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme_name = args.theme.or(file.settings.theme);
    let theme = mpviz::ui::theme::pick(theme_name.as_deref(), no_color).unwrap_or(0);
    let speed = args.speed.or(file.settings.speed).unwrap_or(1.0);
    let scenario = args
        .params
        .as_ref()
        .map_or(args.scenario, |p| mpviz::scenario::index_of(p.name()));
    let given = args.given;
    let python = if args.py.engine == Some(mpviz::cli::Engine::Python) {
        let Some(params) = args.params.clone().or_else(|| {
            scenario.and_then(|i| mpviz::scenario::default_params(mpviz::scenario::ALL[i].name))
        }) else {
            eprintln!(
                "mpviz: --engine python runs one scenario's program: name it, e.g. `mpviz ui \
                 lock --engine python`"
            );
            return ExitCode::from(EXIT_USAGE);
        };
        let what = match tutorial_run(&params, &args.py, &rust_only(&given)) {
            Ok(w) => w,
            Err(e) => return fail(&e),
        };
        if let Err(e) = what.check() {
            return fail(&e);
        }
        Some(what)
    } else {
        None
    };
    let opts = UiOptions {
        scenario,
        params: args
            .params
            .map(|p| p.for_the_ui(&|id| given.iter().any(|g| g == id))),
        theme,
        refresh: Duration::from_millis(args.refresh_ms.or(file.settings.refresh_ms).unwrap_or(250)),
        speed_permille: mpviz::app::permille_of(speed),
        method: args
            .start_method
            .or(file.settings.start_method)
            .unwrap_or_default()
            .into(),
        replay: None,
        record: args.record,
        config,
        notices: file.problems,
        python,
    };
    run_ui(opts)
}

/// `mpviz python SCRIPT`: on a terminal the UI on the run; otherwise the script's events as
/// they arrive, then a summary. The script's own exit code is passed on.
fn python(args: PythonArgs) -> ExitCode {
    let what =
        mpviz::python::PythonRun::user(args.python, args.script, args.args, args.start_method);
    let out = mpviz::python::headless::Output {
        json: args.json,
        trace_out: args.trace_out,
    };
    python_run(what, args.speed, out, args.record)
}

/// A traced Python run: checked first (a bad script is one line, nothing started), then the
/// UI on a terminal (unless `--json`), headless otherwise.
fn python_run(
    what: mpviz::python::PythonRun,
    speed: f64,
    out: mpviz::python::headless::Output,
    record: Option<std::path::PathBuf>,
) -> ExitCode {
    let speed_permille = mpviz::app::permille_of(speed);
    if !out.json
        && out.trace_out.is_none()
        && std::io::stdout().is_terminal()
        && std::io::stdin().is_terminal()
    {
        if let Err(e) = what.check() {
            return fail(&e);
        }
        let (config, file) = read_config(None, false);
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let theme = mpviz::ui::theme::pick(file.settings.theme.as_deref(), no_color).unwrap_or(0);
        return run_ui(UiOptions {
            scenario: None,
            theme,
            refresh: Duration::from_millis(file.settings.refresh_ms.unwrap_or(250)),
            speed_permille,
            method: Default::default(),
            replay: None,
            record,
            params: None,
            config,
            notices: file.problems,
            python: Some(what),
        });
    }
    if record.is_some() {
        eprintln!("mpviz: --record records the UI, which needs a terminal, and this is not one");
        return ExitCode::from(2);
    }
    python_run_headless(what, speed, out)
}

/// A traced Python run printed as it goes (the run checks everything first).
fn python_run_headless(
    what: mpviz::python::PythonRun,
    speed: f64,
    out: mpviz::python::headless::Output,
) -> ExitCode {
    let control = mpviz::python::Control::default();
    control
        .steer
        .set_interval(mpviz::app::permille_of(speed) as f64 / 1000.0);
    match mpviz::python::headless::run(&what, &control, &out) {
        Ok(mpviz::python::headless::Outcome::Exited(code)) => {
            ExitCode::from(code.clamp(0, 255) as u8)
        }
        Ok(mpviz::python::headless::Outcome::OutputFailed(why)) => {
            eprintln!("mpviz: {why}");
            ExitCode::from(EXIT_PROBLEMS)
        }
        Err(e) => fail(&e),
    }
}

/// `--engine python`: what the Rust engine's flags would change cannot be given (the program
/// runs as the tutorial wrote it); the scenario's program under the probe otherwise.
fn tutorial_run(
    params: &mpviz::scenario::Params,
    py: &mpviz::cli::PythonEngineArgs,
    rust_only: &[String],
) -> Result<mpviz::python::PythonRun, RunError> {
    if let Some(flag) = rust_only.first() {
        return Err(RunError::Usage(format!(
            "--{flag} is the Rust engine's; --engine python runs assets/python/mp_{}.py as the \
             tutorial wrote it (leave --{flag} out, or use --engine rust{})",
            params.name(),
            if flag == "start-method" {
                "; the program's start method is --mp-start-method fork|spawn|forkserver"
            } else {
                ""
            }
        )));
    }
    mpviz::python::headless::tutorial(params.name(), py.python.clone(), py.mp_start_method.clone())
}

fn replay(args: ReplayArgs) -> ExitCode {
    let rec = match mpviz::replay::load(&args.file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mpviz: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!("mpviz: replay needs a terminal, and this is not one.");
        return ExitCode::from(EXIT_USAGE);
    }
    let (config, file) = read_config(args.config, args.no_config);
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme_name = args.theme.or(file.settings.theme);
    let theme = mpviz::ui::theme::pick(theme_name.as_deref(), no_color).unwrap_or(0);
    run_ui(UiOptions {
        scenario: None,
        theme,
        refresh: Duration::from_millis(file.settings.refresh_ms.unwrap_or(250)),
        speed_permille: 1000,
        method: Default::default(),
        replay: Some(rec),
        record: None,
        params: None,
        config,
        notices: file.problems,
        python: None,
    })
}

/// The config file to use (`--config`, the default place, or none with `--no-config`) and
/// what it says. Its problems are printed here, one line each (they stay on the terminal's
/// main screen after the UI leaves), and the UI shows them too; none stops mpviz.
fn read_config(
    named: Option<std::path::PathBuf>,
    none: bool,
) -> (Option<std::path::PathBuf>, mpviz::config::Loaded) {
    if none {
        return (None, mpviz::config::Loaded::default());
    }
    let given = named.is_some();
    let Some(path) = named.or_else(mpviz::config::default_path) else {
        return (None, mpviz::config::Loaded::default());
    };
    let loaded = mpviz::config::read(&path, given);
    for p in &loaded.problems {
        eprintln!("mpviz: {p}");
    }
    (Some(path), loaded)
}

fn run_ui(opts: UiOptions) -> ExitCode {
    match mpviz::tui::run(opts) {
        Ok(()) if mpviz::runtime::spawn::interrupted() => ExitCode::from(EXIT_INTERRUPTED),
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mpviz: the terminal UI failed: {e}");
            ExitCode::from(EXIT_PROBLEMS)
        }
    }
}

fn snapshot(args: SnapshotArgs) -> ExitCode {
    let program = matches!(args.scenario, mpviz::cli::SnapshotOf::Python { .. });
    if let Some(code) = python_only(&args.py).filter(|_| !program) {
        return code;
    }
    let Some(out) = args.out else {
        eprintln!("mpviz: snapshot needs --out FILE (.svg, .html, .txt or .ans)");
        return ExitCode::from(EXIT_USAGE);
    };
    if args.format.is_none() && mpviz::export::Format::from_path(&out).is_none() {
        eprintln!(
            "mpviz: --out {}: cannot tell the format from the name; end it in .svg, .html, .txt \
             or .ans, or give --format",
            out.display()
        );
        return ExitCode::from(EXIT_USAGE);
    }
    // Refuse an unwritable destination (or a planted link) before starting anything.
    if let Err(e) = mpviz::export::files::check_writable(&out) {
        eprintln!("mpviz: --out {}: cannot write there: {e}", out.display());
        return ExitCode::from(EXIT_USAGE);
    }
    let theme = mpviz::ui::theme::pick(args.theme.as_deref(), false).unwrap_or(0);
    let trigger = match (args.at, args.when) {
        (Some(at), _) => mpviz::snapshot::Trigger::At(at),
        (None, w) => mpviz::snapshot::Trigger::When(w.unwrap_or(mpviz::snapshot::Moment::Done)),
    };
    let shot = mpviz::snapshot::Shot {
        shots: vec![(trigger, out.clone())],
        format: args.format,
        size: args.size,
        theme,
        runtime: RuntimeOptions {
            method: args.start_method.into(),
            speed_permille: (1000.0 / args.speed).round() as u32,
            ..RuntimeOptions::default()
        },
        record: args.record,
    };
    let subject = match args.scenario {
        mpviz::cli::SnapshotOf::Python { script, args: argv } => {
            // A program is no scenario: neither engine nor the Rust workers' start method.
            let given = |f: &str| args.given.iter().any(|g| g == f);
            if given("engine") {
                return fail(&RunError::Usage(
                    "--engine is for the scenarios: a program always runs on CPython".into(),
                ));
            }
            if given("start_method") {
                return fail(&RunError::Usage(
                    "--start-method is the Rust workers'; a program's start method is \
                     --mp-start-method fork|spawn|forkserver"
                        .into(),
                ));
            }
            mpviz::snapshot::Subject::Python(mpviz::python::PythonRun::user(
                args.py.python,
                script,
                argv,
                args.py.mp_start_method,
            ))
        }
        mpviz::cli::SnapshotOf::Scenario(params)
            if args.py.engine == Some(mpviz::cli::Engine::Python) =>
        {
            match tutorial_run(&params, &args.py, &rust_only(&args.given)) {
                Ok(w) => mpviz::snapshot::Subject::Python(w),
                Err(e) => return fail(&e),
            }
        }
        mpviz::cli::SnapshotOf::Scenario(params) => mpviz::snapshot::Subject::Scenario(params),
    };
    match mpviz::snapshot::take(subject, &shot) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn demo(tape: &std::path::Path) -> ExitCode {
    let text = match std::fs::read_to_string(tape) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("mpviz: cannot read the tape {}: {e}", tape.display());
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let runs = match mpviz::snapshot::parse_tape(&text) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mpviz: {}: {e}", tape.display());
            return ExitCode::from(EXIT_USAGE);
        }
    };
    #[derive(clap::Parser)]
    struct Wrapper {
        #[command(subcommand)]
        params: mpviz::scenario::Params,
    }
    // Every line of the tape is checked before the first run starts.
    let mut plan = Vec::new();
    for run in runs {
        let what = run.args.join(" ");
        let Some(theme) = mpviz::ui::theme::pick(run.theme.as_deref(), false) else {
            eprintln!(
                "mpviz: {}: run {what}: unknown theme {:?} (themes: {})",
                tape.display(),
                run.theme.as_deref().unwrap_or(""),
                mpviz::ui::theme::THEMES
                    .iter()
                    .map(|t| t.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            return ExitCode::from(EXIT_USAGE);
        };
        // `run python SCRIPT [ARGS]`: a program of one's own, under the probe.
        if let [first, script, argv @ ..] = run.args.as_slice()
            && first == "python"
        {
            let w = mpviz::python::PythonRun::user(
                "python3".into(),
                script.into(),
                argv.to_vec(),
                None,
            );
            if let Err(e) = w.check() {
                eprintln!("mpviz: {}: run {what}: {e}", tape.display());
                return ExitCode::from(EXIT_USAGE);
            }
            plan.push((run, mpviz::snapshot::Subject::Python(w), theme));
            continue;
        }
        let args = std::iter::once("mpviz".to_string()).chain(run.args.iter().cloned());
        let params = match <Wrapper as clap::Parser>::try_parse_from(args) {
            Ok(w) => w.params,
            Err(e) => {
                eprintln!(
                    "mpviz: {}: run {what}: {}",
                    tape.display(),
                    mpviz::cli::one_line(&e)
                );
                return ExitCode::from(EXIT_USAGE);
            }
        };
        if let Err(e) = params.check() {
            eprintln!("mpviz: {}: run {what}: {e}", tape.display());
            return ExitCode::from(EXIT_USAGE);
        }
        // A Python run: the program as written (no parameters), an interpreter that runs.
        let subject = match run.engine {
            mpviz::cli::Engine::Python => {
                let checked = if run.args.len() > 1 {
                    Err(RunError::Usage(format!(
                        "engine python runs the scenario's program as written; leave out {}",
                        run.args[1..].join(" ")
                    )))
                } else {
                    mpviz::python::headless::tutorial(params.name(), "python3".into(), None)
                        .and_then(|w| w.check().map(|()| w))
                };
                match checked {
                    Ok(w) => mpviz::snapshot::Subject::Python(w),
                    Err(e) => {
                        eprintln!("mpviz: {}: run {what}: {e}", tape.display());
                        return ExitCode::from(EXIT_USAGE);
                    }
                }
            }
            mpviz::cli::Engine::Rust => mpviz::snapshot::Subject::Scenario(params),
        };
        plan.push((run, subject, theme));
    }
    for (run, subject, theme) in plan {
        let shot = mpviz::snapshot::Shot {
            shots: run.shots,
            format: None,
            size: run.size,
            theme,
            runtime: RuntimeOptions::default(),
            record: None,
        };
        if let Err(e) = mpviz::snapshot::take(subject, &shot) {
            return fail(&e);
        }
    }
    ExitCode::SUCCESS
}

fn print_list() {
    print_lines(
        scenario::ALL
            .iter()
            .map(|s| format!("{:<8} §{}  {:<40} {}", s.name, s.section, s.title, s.watch)),
    );
}

/// Prints lines to stdout; stops quietly when the reader has gone (`mpviz list | head -1`), where
/// `println!` would panic on the broken pipe.
fn print_lines(lines: impl Iterator<Item = String>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for line in lines {
        if writeln!(out, "{line}").is_err() {
            return;
        }
    }
    let _ = out.flush();
}

fn fail(e: &RunError) -> ExitCode {
    if e.is_interrupt() {
        eprintln!("mpviz: interrupted; workers stopped and cleaned up");
        return ExitCode::from(EXIT_INTERRUPTED);
    }
    eprintln!("mpviz: {e}");
    match e {
        RunError::Usage(_) => ExitCode::from(EXIT_USAGE),
        _ => ExitCode::from(EXIT_PROBLEMS),
    }
}

fn run(args: RunArgs) -> ExitCode {
    if let Some(code) = python_only(&args.py) {
        return code;
    }
    if args.py.engine == Some(mpviz::cli::Engine::Python) {
        let what = match tutorial_run(&args.scenario, &args.py, &rust_only(&args.given)) {
            Ok(w) => w,
            Err(e) => return fail(&e),
        };
        let out = mpviz::python::headless::Output {
            json: args.json,
            trace_out: args.trace_out,
        };
        return python_run_headless(what, args.speed, out);
    }
    let opts = RuntimeOptions {
        method: args.start_method.into(),
        speed_permille: (1000.0 / args.speed).round() as u32,
        gates: false,
        trace: !args.no_trace,
        ..RuntimeOptions::default()
    };
    let params = args.scenario;
    let cells = params.cell_names();
    let json = args.json;
    if let Some(path) = &args.trace_out
        && let Err(e) = mpviz::export::files::check_writable(path)
    {
        eprintln!(
            "mpviz: --trace-out {}: cannot write there: {e}",
            path.display()
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let mut printer = report::Printer::new(json, cells, args.trace_out.is_some());
    let mut observer = |e: &Envelope| printer.observe(e);
    let result = scenario::run(&params, opts, &mut observer);
    let mut out_error = printer.error.take();
    let stdout = std::io::stdout();
    let mut code = match &result {
        Ok(summary) => {
            let mut out = stdout.lock();
            let written = if json {
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string(summary).unwrap_or_default()
                )
            } else {
                write!(out, "{}", report::summary_text(summary))
            }
            .and_then(|()| out.flush());
            if let Err(e) = written {
                out_error.get_or_insert(e);
            }
            if summary.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_PROBLEMS)
            }
        }
        Err(_) if out_error.is_some() => ExitCode::from(EXIT_PROBLEMS),
        Err(e) => fail(e),
    };
    if let (Some(t), Some(path)) = (printer.trace, &args.trace_out)
        && let Err(e) = mpviz::export::files::write_whole(path, t.finish().as_bytes())
    {
        eprintln!("mpviz: cannot write the trace {}: {e}", path.display());
        code = ExitCode::from(EXIT_PROBLEMS);
    }
    if let Some(e) = out_error {
        eprintln!("mpviz: cannot write the output ({e}); the run was stopped and cleaned up");
        code = ExitCode::from(EXIT_PROBLEMS);
    }
    code
}
