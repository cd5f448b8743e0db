//! Listing payments with filters, a page at a time.

use super::load;
use crate::repo::dossiers::DossierScope;
use crate::schema::{dossier_agencies, dossiers, payments};
use crate::time::to_db;
use crate::{AnyConnection, StoreResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use motcua_domain::page::{Page, PageRequest};
use motcua_domain::payment::{Payment, PaymentStatus};

#[derive(Debug, Clone, Default)]
pub struct PaymentFilter {
    pub status: Option<PaymentStatus>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub dossier_code: Option<String>,
}

pub fn list(
    conn: &mut AnyConnection,
    scope: DossierScope,
    filter: &PaymentFilter,
    page: PageRequest,
) -> StoreResult<Page<Payment>> {
    let query = || {
        let mut q = payments::table.into_boxed::<crate::db::Db>();
        match scope {
            DossierScope::All => {}
            DossierScope::Citizen {
                user,
                applicant,
                verified,
            } => {
                use crate::repo::dossiers::listing::citizen_filter;
                q = q.filter(
                    payments::dossier_id.eq_any(
                        dossiers::table
                            .filter(citizen_filter!(user, applicant, verified))
                            .select(dossiers::id),
                    ),
                )
            }
            DossierScope::Agency(a) => {
                q = q.filter(
                    payments::dossier_id.eq_any(
                        dossier_agencies::table
                            .filter(dossier_agencies::agency_id.eq(a))
                            .select(dossier_agencies::dossier_id),
                    ),
                )
            }
            DossierScope::Integration(user) => {
                q = q.filter(
                    payments::dossier_id.eq_any(
                        dossiers::table
                            .filter(
                                dossiers::submitted_by
                                    .eq(user)
                                    .or(dossiers::agency_id.eq_any(
                                        crate::schema::integration_grants::table
                                            .filter(
                                                crate::schema::integration_grants::user_id.eq(user),
                                            )
                                            .select(crate::schema::integration_grants::agency_id),
                                    )),
                            )
                            .select(dossiers::id),
                    ),
                )
            }
        }
        if let Some(status) = filter.status {
            q = q.filter(payments::status.eq(status.as_str()));
        }
        if let Some(from) = filter.created_from {
            q = q.filter(payments::created_at.ge(to_db(from)));
        }
        if let Some(to) = filter.created_to {
            q = q.filter(payments::created_at.lt(to_db(to)));
        }
        if let Some(code) = &filter.dossier_code {
            q = q.filter(
                payments::dossier_id.eq_any(
                    dossiers::table
                        .filter(dossiers::code.eq(code.clone()))
                        .select(dossiers::id),
                ),
            );
        }
        q
    };
    let total: i64 = query().count().get_result(conn)?;
    let items = load(
        conn,
        query()
            .order((payments::created_at.desc(), payments::id.asc()))
            .offset(page.offset())
            .limit(page.limit()),
    )?;
    Ok(Page::new(items, page, total))
}
