//! Citizens create their own accounts.

use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::{Duration, NaiveDate};
use motcua_domain::Role;
use motcua_domain::user::Registration;
use motcua_persistence::repo::{applicants, rate_limits, users};
use motcua_persistence::write_tx;
use serde::Deserialize;
use utoipa::ToSchema;

use super::client_address;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::Json;
use crate::routes::users::UserView;
use crate::state::AppState;

const REGISTER_BUCKET: &str = "register_address";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// 12-digit citizen ID number; it becomes the username.
    #[schema(value_type = motcua_domain::rules::CitizenIdNumber, example = "079203001234")]
    pub id_number: String,
    #[schema(value_type = motcua_domain::rules::PersonName, example = "Nguyễn Văn An")]
    pub full_name: String,
    #[schema(value_type = motcua_domain::rules::PhoneNumber, example = "0912345678")]
    pub phone: String,
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::EmailOrBlank>)]
    pub email: Option<String>,
    #[serde(default)]
    pub date_of_birth: Option<NaiveDate>,
    /// At least 10 characters, not only digits.
    #[schema(value_type = motcua_domain::rules::Password, example = "mat-khau-cua-an")]
    pub password: String,
}

/// Creates a citizen account and its applicant record.
#[utoipa::path(operation_id = "register_citizen", 
    tag = "auth",
    request_body = RegisterRequest,
    responses((status = 201, body = UserView), (status = 409, description = "The ID number is already registered", body = crate::error::ProblemBody))
)]
#[post("/auth/register")]
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<RegisterRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.0;
    let now = state.clock.now();
    let today = motcua_domain::local_time::date(now);
    let registration = Registration::parse(
        &body.id_number,
        &body.full_name,
        &body.phone,
        body.email.as_deref(),
        body.date_of_birth,
        &body.password,
        today,
    )?;
    let address = client_address(&req, state.settings.server.trust_forwarded_for);
    let window = Duration::hours(1);
    let hits = state
        .db(move |conn| {
            Ok(rate_limits::hit(
                conn,
                REGISTER_BUCKET,
                &address,
                window,
                now,
            )?)
        })
        .await?;
    if hits.hits > 20 {
        return Err(ApiError::too_many_requests(
            (hits.resets_at - now).num_seconds(),
        ));
    }
    let password = registration.password.clone();
    let hash = state.hasher.hash(password).await?;
    let user = state
        .db(move |conn| {
            write_tx(conn, |conn| {
                let id = registration.id_number.as_str();
                if users::credentials(conn, id)?.is_some() {
                    return Err(ApiError::new(ErrorCode::AlreadyExists).detail(
                        "Số định danh này đã có tài khoản.",
                        "An account already exists for this ID number.",
                    ));
                }
                // Counter staff may have filed for this person before: reuse their record.
                let applicant = match applicants::by_id_number(conn, id)? {
                    Some(existing) => existing,
                    None => applicants::insert_person(
                        conn,
                        &applicants::NewPerson {
                            id_number: id,
                            full_name: &registration.full_name,
                            date_of_birth: registration.date_of_birth,
                            phone: Some(&registration.phone),
                            email: registration.email.as_deref(),
                            address: None,
                        },
                        now,
                    )?,
                };
                let user = users::insert(
                    conn,
                    &users::NewUser {
                        username: id,
                        password_hash: &hash,
                        role: Role::Citizen,
                        agency_id: None,
                        applicant_id: Some(applicant.id),
                        full_name: &registration.full_name,
                        phone: Some(&registration.phone),
                        email: registration.email.as_deref(),
                        demo: false,
                    },
                    now,
                )
                .map_err(|e| {
                    if e.is_conflict_on("username") || e.is_conflict_on("applicant") {
                        ApiError::new(ErrorCode::AlreadyExists)
                    } else {
                        e.into()
                    }
                })?;
                Ok(user)
            })
        })
        .await?;
    tracing::info!(user_id = user.id, "citizen registered");
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::LOCATION, "/api/v1/me"))
        .json(UserView::from(user)))
}
