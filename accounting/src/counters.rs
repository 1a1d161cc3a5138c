//! Per-domain counters: what a user reads to see whom the scheduler served,
//! who waited, and who paid for whom.

use bytemuck::Zeroable;

use crate::credit::Time;

/// Counters of one domain since it was created. All times in ns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Zeroable)]
pub struct DomCounters {
    /// Time its units spent running.
    pub run_ns: Time,
    /// Time its units spent runnable but not running.
    pub wait_ns: Time,
    /// Communication boosts granted to its units.
    pub boosts: u64,
    /// Communication boosts refused because its fair share was used up.
    pub boosts_refused: u64,
    /// Time other domains ran on slices this domain donated.
    pub donated_ns: Time,
    /// Time this domain ran on slices donated by others.
    pub received_ns: Time,
    /// Credits this domain paid for other domains' running (donation and
    /// driver-domain attribution).
    pub charged_for_others: i64,
    /// Donations started by this domain.
    pub donations: u64,
    /// The longest single wait of one of its units, from becoming runnable
    /// (a wake, or losing its pCPU) to running: the scheduler's own view
    /// of starvation, which a guest's clock cannot give (it also counts
    /// stints too short for the guest to get anything done).
    pub wait_max_ns: Time,
}
