//! The signed-in account.

use actix_web::{HttpResponse, get, web};
use chrono::NaiveDate;
use motcua_domain::Role;
use motcua_domain::access::IdentityStatus;
use motcua_persistence::repo::{agencies, applicants, identity, users};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::routes::users::UserView;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    #[serde(flatten)]
    pub user: UserView,
    pub agency: Option<motcua_domain::agency::AgencyRef>,
    /// The citizen's own applicant record. Until the account is verified it
    /// shows what the account typed, not what the agency holds.
    pub applicant: Option<ApplicantView>,
    /// Citizens: whether the account has proven it is the person of its ID number.
    pub identity: Option<motcua_persistence::repo::identity::Verification>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicantView {
    pub id: i64,
    pub id_number: Option<String>,
    pub full_name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// The signed-in account.
#[utoipa::path(operation_id = "get_me", tag = "auth", security(("bearer" = [])), responses((status = 200, body = MeView)))]
#[get("/me")]
pub async fn me(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let view = state
        .db(move |conn| {
            let user = users::by_id(conn, caller.user_id)?;
            let agency = match user.agency_id {
                Some(id) => Some(agencies::reference(&agencies::by_id(conn, id)?)),
                None => None,
            };
            let identity = match user.role {
                Role::Citizen => Some(identity::of(conn, user.id)?),
                _ => None,
            };
            let verified = identity
                .as_ref()
                .is_some_and(|v| v.status == IdentityStatus::Verified);
            let applicant = match user.applicant_id {
                Some(id) if verified => {
                    let a = applicants::by_id(conn, id)?;
                    Some(ApplicantView {
                        id: a.id,
                        id_number: a.id_number,
                        full_name: a.full_name,
                        date_of_birth: a.date_of_birth,
                        phone: a.phone,
                        email: a.email,
                    })
                }
                // Not proven yet: nothing from the agency's record but the number.
                Some(id) => {
                    let a = applicants::by_id(conn, id)?;
                    Some(ApplicantView {
                        id: a.id,
                        id_number: a.id_number,
                        full_name: user.full_name.clone(),
                        date_of_birth: None,
                        phone: user.phone.clone(),
                        email: user.email.clone(),
                    })
                }
                None => None,
            };
            Ok(MeView {
                user: UserView::from(user),
                agency,
                applicant,
                identity,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
