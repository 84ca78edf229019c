//! Per-core load and its recent history, and which worker runs on which core now.

use std::collections::VecDeque;

use crate::monitor::Sample;

/// Samples kept per core for the history sparkline.
pub const HISTORY: usize = 120;

#[derive(Debug, Default, Clone)]
pub struct CpuState {
    /// Current load per core, percent.
    pub cores: Vec<f32>,
    /// Recent loads per core, oldest first.
    pub history: Vec<VecDeque<f32>>,
    /// Workers seen running (state R) on each core in the latest sample.
    pub on_core: Vec<Vec<u16>>,
    pub samples: u64,
}

impl CpuState {
    /// Takes a sample; `worker_of` maps a pid to its worker id.
    pub fn on_sample(&mut self, s: &Sample, worker_of: impl Fn(i32) -> Option<u16>) {
        let n = s.cores.len();
        if self.history.len() != n {
            self.history = vec![VecDeque::with_capacity(HISTORY); n];
        }
        for (h, v) in self.history.iter_mut().zip(&s.cores) {
            if h.len() == HISTORY {
                h.pop_front();
            }
            h.push_back(*v);
        }
        self.cores = s.cores.clone();
        self.on_core = vec![Vec::new(); n];
        for p in &s.procs {
            let Some(w) = worker_of(p.pid).filter(|_| p.state == 'R') else {
                continue;
            };
            for core in &p.cores {
                if let Some(slot) = self.on_core.get_mut(*core as usize) {
                    slot.push(w);
                }
            }
        }
        self.samples += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::ProcSample;

    #[test]
    fn history_is_bounded_and_workers_land_on_their_core() {
        let mut c = CpuState::default();
        for i in 0..(HISTORY + 10) {
            let s = Sample {
                cores: vec![i as f32, 50.0],
                procs: vec![
                    ProcSample {
                        pid: 7,
                        cpu_pct: 99.0,
                        cores: vec![1],
                        state: 'R',
                    },
                    ProcSample {
                        pid: 8,
                        cpu_pct: 0.0,
                        cores: vec![0],
                        state: 'S',
                    },
                ],
            };
            c.on_sample(&s, |pid| (pid == 7 || pid == 8).then_some(pid as u16 - 6));
        }
        assert_eq!(c.history[0].len(), HISTORY);
        assert_eq!(
            c.on_core,
            vec![vec![], vec![1]],
            "only running workers are shown on a core"
        );
    }
}
