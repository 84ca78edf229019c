//! The multiprocess engine: worker processes, their events, controls, shared memory and lock.
//!
//! No terminal drawing lives here. Front ends (the headless `run`, the UI) consume the event
//! stream that `Runtime` fans in and steer workers through it.

pub mod clock;
pub mod codec;
pub mod control;
pub mod event;
pub mod fdpass;
pub mod hub;
pub mod launcher;
pub mod lock;
pub mod queue;
pub mod shm;
pub mod spawn;
pub(crate) mod sys;
pub mod worker;

pub use control::{Control, Flow};
pub use event::{Access, Envelope, EventKind, Item, Num, Stage, StoreId};
pub use hub::Hub;
pub use spawn::{Next, Runtime, RuntimeError, RuntimeOptions, StartMethod};
pub use worker::WorkerCtx;
