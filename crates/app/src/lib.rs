//! motcua's application layer: the use cases that are not wire, their
//! settings, the clients of outside services (payment gateway, notifier)
//! behind traits, the background workers, and [`App`], the one assembly the
//! binary, the tests and the bench all start from.

pub mod app;
pub mod catalog_import;
pub mod clock;
pub mod dossiers;
pub mod input;
pub mod notifier;
pub mod password;
pub mod payments;
pub mod settings;
pub mod verification;
pub mod workers;

/// Persistence's repositories, reachable as `crate::repo` so the dossier use
/// cases moved here from persistence keep their paths unchanged (`act.rs` is
/// edited on another branch too; untouched lines let git merge both).
use motcua_persistence::repo;

pub use app::App;
pub use clock::Clock;
pub use settings::Settings;
pub use workers::Workers;
