//! What the public tracking look-up reads, in one statement: the dossier with
//! its applicant's identifiers and the names of its two agencies.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use motcua_domain::dossier::DossierStatus;

use crate::schema::{agencies, applicants, dossiers};
use crate::time::from_db;
use crate::{AnyConnection, StoreResult, parse_enum};

diesel::alias!(agencies as handling_agencies: HandlingAgencies);

/// A dossier as the public may see it once they name it, plus the applicant's
/// identifiers the caller must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedDossier {
    pub id: i64,
    pub code: String,
    pub status: DossierStatus,
    pub received_at: Option<DateTime<Utc>>,
    pub appointment_at: Option<DateTime<Utc>>,
    pub agency_name: String,
    pub handling_agency_name: String,
    pub applicant_id_number: Option<String>,
    pub applicant_tax_code: Option<String>,
}

type Raw = (
    i64,
    String,
    String,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    String,
    String,
    Option<String>,
    Option<String>,
);

/// `None` when no dossier has this code.
pub fn by_code(conn: &mut AnyConnection, code: &str) -> StoreResult<Option<TrackedDossier>> {
    let raw: Option<Raw> = dossiers::table
        .inner_join(applicants::table)
        .inner_join(agencies::table.on(agencies::id.eq(dossiers::agency_id)))
        .inner_join(
            handling_agencies.on(handling_agencies
                .field(agencies::id)
                .eq(dossiers::handling_agency_id)),
        )
        .filter(dossiers::code.eq(code))
        .select((
            dossiers::id,
            dossiers::code,
            dossiers::status,
            dossiers::received_at,
            dossiers::appointment_at,
            agencies::name,
            handling_agencies.field(agencies::name),
            applicants::id_number,
            applicants::tax_code,
        ))
        .first(conn)
        .optional()?;
    raw.map(
        |(id, code, status, received, appointment, agency, handling, id_number, tax_code)| {
            Ok(TrackedDossier {
                id,
                code,
                status: parse_enum(&status)?,
                received_at: received.map(from_db),
                appointment_at: appointment.map(from_db),
                agency_name: agency,
                handling_agency_name: handling,
                applicant_id_number: id_number,
                applicant_tax_code: tax_code,
            })
        },
    )
    .transpose()
}
