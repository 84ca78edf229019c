//! mpviz: makes multiprocessing visible.
//!
//! The crate re-enacts each section of a Python `multiprocessing` tutorial with real OS
//! processes. `runtime` is the engine (workers, events, controls, shared memory, the lock);
//! `scenario` holds the tutorial's sections; `report` and `bench` are headless front ends.

pub mod app;
pub mod bench;
pub mod cli;
pub mod config;
pub mod export;
pub mod model;
pub mod monitor;
pub mod python;
pub mod replay;
pub mod report;
pub mod runtime;
pub mod scenario;
pub mod snapshot;
pub mod source;
pub mod tui;
pub mod ui;
