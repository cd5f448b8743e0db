//! motcua's domain: the types and rules of the one-stop shop, free of I/O.
//!
//! Where each rule lives:
//! - who sees which dossier, list scopes, views by agency: [`access`];
//! - statuses, actions, who may take them (the one state machine,
//!   [`dossier::decide`]), staff of the dossier's agency: [`dossier`];
//! - filing a dossier (permission, channel, agency, applicant, documents): [`submission`];
//! - what an action carries (note, missing items, document ids): [`action_input`];
//! - what an action needs beyond its status (supplement clock, apology,
//!   late return, attachments), outcome and progress, due windows: [`handling`];
//! - working days and due moments: [`calendar`], [`holidays`], [`lunar`];
//!   local time (UTC+7): [`local_time`];
//! - KPI facts of one dossier (Decision 766): [`kpi_facts`]; counters,
//!   rates and scores: [`kpi`];
//! - payments and the gateway: [`payment`], [`vnpay`];
//! - e-forms (definition checks, form data against its JSON Schema, pre-fill
//!   and reuse): [`forms`];
//! - rule codes with their messages: [`rule`]; field problems: [`validation`].

pub mod access;
pub mod action_input;
pub mod agency;
pub mod audit;
pub mod calendar;
pub mod document;
pub mod dossier;
pub mod enums;
pub mod event;
pub mod feedback;
pub mod forms;
pub mod handling;
pub mod holidays;
pub mod identity;
pub mod kpi;
pub mod kpi_facts;
pub mod local_time;
pub mod lunar;
pub mod notification;
pub mod numeric;
pub mod page;
pub mod papers;
pub mod payment;
pub mod portal;
pub mod procedure;
pub mod queue;
pub mod representation;
pub mod results;
pub mod role;
pub mod rule;
pub mod rules;
pub mod search;
pub mod settlement;
pub mod submission;
pub mod text;
pub mod user;
pub mod validation;
pub mod vnpay;
pub mod webhook;

pub use role::Role;
