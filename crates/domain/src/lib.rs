//! motcua's domain: the types and rules of the one-stop shop, free of I/O.

pub mod access;
pub mod agency;
pub mod audit;
pub mod calendar;
pub mod document;
pub mod dossier;
pub mod enums;
pub mod feedback;
pub mod handling;
pub mod holidays;
pub mod identity;
pub mod kpi;
pub mod kpi_facts;
pub mod local_time;
pub mod lunar;
pub mod page;
pub mod payment;
pub mod procedure;
pub mod queue;
pub mod role;
pub mod rule;
pub mod search;
pub mod submission;
pub mod text;
pub mod user;
pub mod validation;
pub mod vnpay;

pub use role::Role;
