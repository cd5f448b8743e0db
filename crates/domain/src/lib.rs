//! motcua's domain: the types and rules of the one-stop shop, free of I/O.

pub mod access;
pub mod agency;
pub mod audit;
pub mod calendar;
pub mod document;
pub mod dossier;
pub mod enums;
pub mod feedback;
pub mod holidays;
pub mod identity;
pub mod kpi;
pub mod lunar;
pub mod page;
pub mod payment;
pub mod procedure;
pub mod queue;
pub mod role;
pub mod rules;
pub mod search;
pub mod settlement;
pub mod text;
pub mod user;
pub mod validation;
pub mod vnpay;

pub use role::Role;
