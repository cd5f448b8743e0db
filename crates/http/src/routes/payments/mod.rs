//! Payments of a dossier's fees: attempts, their gateway callbacks, refunds,
//! reconciliation.
//!
//! `attempts` opens, shows, lists and cancels payments; `refunds` gives money
//! back; `gateway_callbacks` are what the gateway and the citizen's browser
//! call; `reconciling` compares our records with the gateway's and runs
//! the jobs on demand.

mod attempts;
mod gateway_callbacks;
mod reconciling;
mod refunds;

pub use attempts::{CreatePaymentRequest, PaymentQuery, cancel, create, get, list};
pub use gateway_callbacks::{IpnReply, ipn, return_page};
pub use reconciling::{
    DayQuery, DiscrepancyList, ReconciliationView, discrepancies, reconcile, reconciliation,
    run_jobs,
};
pub use refunds::{RefundRequest, approve_refund, refund};

use motcua_app::dossiers as workflow;
use motcua_domain::payment::{AmountProblem, Payment, PaymentStatus, Refund};
use motcua_domain::rule::RuleCode;
use motcua_domain::validation::Problem;
use motcua_persistence::repo::payments::{self as repo, PaymentEvent};
use motcua_persistence::{AnyConnection, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::routes::dossiers::who;

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    #[serde(flatten)]
    pub payment: Payment,
    /// Where to send the citizen; for the payer, while the attempt is open.
    pub next_url: Option<String>,
    pub refundable_vnd: i64,
    pub refunds: Vec<Refund>,
    pub events: Vec<PaymentEvent>,
}

fn amount_error(field: &str, problem: AmountProblem) -> ApiError {
    let rule = match problem {
        AmountProblem::NotPositive => RuleCode::AmountNotPositive,
        AmountProblem::TooLarge => RuleCode::AmountTooLarge,
    };
    ApiError::field(field, Problem::rule(rule))
}

fn view(conn: &mut AnyConnection, payment: Payment, show_link: bool) -> ApiResult<PaymentView> {
    let refundable_vnd = repo::refundable_of(conn, &payment)?;
    let refunds = repo::refunds_of(conn, &payment.id)?;
    let events = repo::events(conn, &payment.id)?;
    let next_url = if show_link && payment.status == PaymentStatus::Started {
        payment.next_url.clone()
    } else {
        None
    };
    Ok(PaymentView {
        payment,
        next_url,
        refundable_vnd,
        refunds,
        events,
    })
}

/// The payment and whether the caller may see it, as (payment, is payer, is staff).
fn visible(
    conn: &mut AnyConnection,
    caller: &Caller,
    id: &str,
) -> ApiResult<(Payment, bool, bool)> {
    let payment = match repo::get(conn, id) {
        Ok(p) => p,
        Err(StoreError::NotFound) => return Err(ApiError::not_found()),
        Err(e) => return Err(e.into()),
    };
    let (_, actor) = workflow::visible(conn, who(caller), &payment.dossier_code)?;
    Ok((payment, actor.is_payer(), actor.is_agency_staff()))
}
