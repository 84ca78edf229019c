//! What is computed from the event stream alone — lost updates, the writers' blocks, lock
//! contention, which worker ran which task — for the
//! UI's state, the headless report and the exporters alike. Depends only on the event types:
//! no scenario, no terminal, no system call.

pub mod about;
pub mod lock;
pub mod lost;
pub mod names;
pub mod pause;
pub mod tasks;
