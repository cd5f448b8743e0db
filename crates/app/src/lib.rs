//! motcua's application layer: the use cases that are not wire, their
//! settings, the clients of outside services (payment gateway, notifier)
//! behind traits, the background workers, and [`App`], the one assembly the
//! binary, the tests and the bench all start from.

pub mod app;
pub mod catalog;
pub mod catalog_import;
pub mod clock;
pub mod dossiers;
pub mod feedback;
pub mod forms;
pub mod input;
pub mod notifications;
pub mod notifier;
pub mod outbox;
pub mod papers;
pub mod password;
pub mod payments;
pub mod portal;
pub mod results;
pub mod settings;
pub mod verification;
pub mod webhooks;
pub mod workers;

pub use app::App;
pub use clock::Clock;
pub use settings::Settings;
pub use workers::Workers;
