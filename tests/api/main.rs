//! Black-box API tests: each scenario starts the real server on port 0 with a
//! database of its own, on SQLite and (when configured) PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod audit;
mod auth;
mod calendar_years;
mod catalog;
mod constraints;
mod contract;
mod dossier_rules;
mod dossiers;
mod errors;
mod etag_race;
mod events;
mod fast_paths;
mod feedback;
mod forms;
mod forms_gaps;
mod guards;
mod identity;
mod kpi;
mod matrix;
mod notifications;
mod ops;
mod outbox;
mod papers;
mod payments;
mod payments_once;
mod people;
mod portal;
mod queue;
mod reception;
mod representatives;
mod results;
mod statements;
mod timing;
mod webhooks;
mod webhooks_http;
mod workers;
