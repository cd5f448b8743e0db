//! Account administration (admin only).

use actix_web::http::header::ETAG;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use motcua_app::password::random_token;
use motcua_domain::Role;
use motcua_domain::audit::{Change, EntityType, changed_fields, user_action};
use motcua_domain::page::PageRequest;
use motcua_domain::rule::RuleCode;
use motcua_domain::rules::{Email, PersonName, PhoneNumber, TextRule};
use motcua_domain::user::{User, check_password, check_username};
use motcua_domain::validation::{FieldErrors, Problem};
use motcua_persistence::repo::{agencies, audit, sessions, users};
use motcua_persistence::write_tx;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::etag::{self, IfMatch};
use crate::extract::{Json, Query};
use crate::routes::PageView;
use crate::routes::audit::actor;
use crate::state::AppState;

/// An account as shown to clients: never its password hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub agency_id: Option<i64>,
    pub full_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub active: bool,
    pub demo: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_login_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            username: u.username,
            role: u.role,
            agency_id: u.agency_id,
            full_name: u.full_name,
            phone: u.phone,
            email: u.email,
            active: u.active,
            demo: u.demo,
            created_at: u.created_at,
            last_login_at: u.last_login_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    pub role: Option<Role>,
    pub agency_id: Option<i64>,
    /// Part of the username or name.
    pub q: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

pub fn page_request(page: Option<u32>, per_page: Option<u32>) -> ApiResult<PageRequest> {
    PageRequest::new(page, per_page).ok_or_else(|| {
        let mut e = ApiError::validation(vec![]);
        e.code = ErrorCode::InvalidQuery;
        if page == Some(0) {
            e.errors.push(motcua_domain::validation::FieldError {
                field: "page".into(),
                problem: Problem::OutOfRange {
                    min: 1,
                    max: i64::from(motcua_domain::page::MAX_PAGE),
                },
            });
        } else {
            e.errors.push(motcua_domain::validation::FieldError {
                field: "per_page".into(),
                problem: Problem::OutOfRange {
                    min: 1,
                    max: i64::from(motcua_domain::page::MAX_PER_PAGE),
                },
            });
        }
        e
    })
}

/// Accounts, filtered and paged.
#[utoipa::path(operation_id = "list_users", tag = "users", security(("bearer" = [])), params(UserQuery), responses((status = 200, body = PageView<UserView>)))]
#[get("/users")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<UserQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let q = query.0;
    let page = page_request(q.page, q.per_page)?;
    let filter = users::UserFilter {
        role: q.role,
        agency_id: q.agency_id,
        q: q.q.filter(|s| !s.trim().is_empty()),
    };
    let found = state
        .db(move |conn| Ok(users::list(conn, &filter, page)?))
        .await?;
    Ok(HttpResponse::Ok().json(PageView::from(found.map(UserView::from))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// 3–64 of `a-z 0-9 . _ -`; for integration accounts, the client id.
    #[schema(value_type = motcua_domain::rules::Username, example = "canbo.vhttdl")]
    pub username: String,
    /// Staff accounts: at least 10 characters. Integration accounts: omit, a secret is generated.
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::Password>)]
    pub password: Option<String>,
    /// `officer`, `leader`, `admin` or `integration`; citizens register themselves.
    pub role: Role,
    /// Required for officers and leaders; not allowed for admins and integration accounts.
    #[serde(default)]
    pub agency_id: Option<i64>,
    #[schema(value_type = motcua_domain::rules::PersonName, example = "Trần Thị Bình")]
    pub full_name: String,
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::PhoneNumberOrBlank>)]
    pub phone: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::EmailOrBlank>)]
    pub email: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedUser {
    #[serde(flatten)]
    pub user: UserView,
    /// Integration accounts only: shown once, store it now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// An account as its audit entries show it: never a password hash; a new
/// password appears only as `"password": "changed"`.
fn audit_json(u: &User, new_password: bool) -> serde_json::Value {
    let mut value = serde_json::json!({
        "id": u.id,
        "username": u.username,
        "role": u.role,
        "agency_id": u.agency_id,
        "full_name": u.full_name,
        "phone": u.phone,
        "email": u.email,
        "active": u.active,
    });
    if new_password && let Some(map) = value.as_object_mut() {
        map.insert("password".into(), "changed".into());
    }
    value
}

fn check_contact(
    errors: &mut FieldErrors,
    phone: Option<&str>,
    email: Option<&str>,
) -> (Option<String>, Option<String>) {
    let phone = PhoneNumber::check_optional(errors, "phone", phone);
    let email = Email::check_optional(errors, "email", email);
    (phone, email)
}

fn check_role_agency(errors: &mut FieldErrors, role: Role, agency_id: Option<i64>) {
    if role.needs_agency() && agency_id.is_none() {
        errors.add("agency_id", Problem::rule(RuleCode::AgencyRequired));
    }
    if !role.needs_agency() && agency_id.is_some() {
        errors.add("agency_id", Problem::rule(RuleCode::AgencyNotAllowed));
    }
}

/// Creates a staff or integration account.
#[utoipa::path(operation_id = "create_user", tag = "users", security(("bearer" = [])), request_body = CreateUserRequest, responses((status = 201, body = CreatedUser), (status = 409, body = crate::error::ProblemBody)))]
#[post("/users")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: Json<CreateUserRequest>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    caller.require(&[Role::Admin])?;
    let actor = actor(&req, &caller);
    let body = body.0;
    let mut errors = FieldErrors::new();
    let username = body.username.trim().to_lowercase();
    check_username(&mut errors, "username", &username);
    PersonName::check(&mut errors, "full_name", &body.full_name);
    if body.role == Role::Citizen {
        errors.add(
            "role",
            Problem::one_of(&["officer", "leader", "admin", "integration"]),
        );
    }
    check_role_agency(&mut errors, body.role, body.agency_id);
    let (phone, email) = check_contact(&mut errors, body.phone.as_deref(), body.email.as_deref());
    let (password, client_secret) = match (body.role, body.password) {
        (Role::Integration, None) => {
            let secret = random_token(32);
            (secret.clone(), Some(secret))
        }
        (_, Some(password)) => {
            check_password(&mut errors, "password", &password, &username);
            (password, None)
        }
        (_, None) => {
            errors.add("password", Problem::Required);
            (String::new(), None)
        }
    };
    errors.into_result()?;
    let hash = state.hasher.hash(password).await?;
    let full_name = motcua_domain::text::nfc(&body.full_name);
    let (role, agency_id) = (body.role, body.agency_id);
    let user = state
        .db(move |conn| {
            write_tx(conn, |conn| {
                if let Some(id) = agency_id {
                    agencies::by_id(conn, id).map_err(|_| {
                        ApiError::field("agency_id", Problem::rule(RuleCode::UnknownAgency))
                    })?;
                }
                let user = users::insert(
                    conn,
                    &users::NewUser {
                        username: &username,
                        password_hash: &hash,
                        role,
                        agency_id,
                        applicant_id: None,
                        full_name: &full_name,
                        phone: phone.as_deref(),
                        email: email.as_deref(),
                        demo: false,
                    },
                    now,
                )
                .map_err(|e| {
                    if e.is_conflict_on("username") {
                        ApiError::new(ErrorCode::AlreadyExists)
                    } else {
                        ApiError::from(e)
                    }
                })?;
                audit::record(
                    conn,
                    &actor,
                    &Change::new(
                        EntityType::User,
                        user.id,
                        "create",
                        None,
                        Some(audit_json(&user, false)),
                    ),
                    now,
                )?;
                Ok(user)
            })
        })
        .await?;
    tracing::info!(user_id = user.id, role = %user.role, by = caller.user_id, "account created");
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/api/v1/users/{}", user.id),
        ))
        .json(CreatedUser {
            user: user.into(),
            client_secret,
        }))
}

/// One account.
#[utoipa::path(operation_id = "get_user", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = UserView, headers(("ETag" = String, description = "Send it back in `If-Match` when updating"))), (status = 404, body = crate::error::ProblemBody)))]
#[get("/users/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let id = id.into_inner();
    let user = state.db(move |conn| Ok(users::by_id(conn, id)?)).await?;
    let view = UserView::from(user);
    Ok(HttpResponse::Ok()
        .insert_header((ETAG, etag::of_representation(&view)))
        .json(view))
}

/// Fields left out stay as they are; `null` clears `phone`, `email` and `agency_id`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    #[schema(value_type = Option<motcua_domain::rules::PersonName>)]
    pub full_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<motcua_domain::rules::PhoneNumberOrBlank>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<motcua_domain::rules::EmailOrBlank>)]
    pub email: Option<Option<String>>,
    pub role: Option<Role>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub agency_id: Option<Option<i64>>,
    /// `false` locks the account and ends its sessions.
    pub active: Option<bool>,
    /// A new password; ends the account's sessions.
    #[schema(value_type = Option<motcua_domain::rules::Password>)]
    pub password: Option<String>,
}

fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

/// Changes an account: contact details, role and agency, lock, password.
#[utoipa::path(operation_id = "update_user", tag = "users", security(("bearer" = [])),
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "Optional: the account's `ETag` as read (or `*`); a stale one gets 412")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, body = UserView, headers(("ETag" = String))),
        (status = 404, body = crate::error::ProblemBody),
        (status = 412, description = "`If-Match` names an older state; `ETag` gives the current one", body = crate::error::ProblemBody),
    ))]
#[patch("/users/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
    body: Json<UpdateUserRequest>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    let precondition = IfMatch::of(&req);
    caller.require(&[Role::Admin])?;
    let actor = actor(&req, &caller);
    let id = id.into_inner();
    let body = body.0;
    let current = state.db(move |conn| Ok(users::by_id(conn, id)?)).await?;
    let mut errors = FieldErrors::new();
    if let Some(name) = &body.full_name {
        PersonName::check(&mut errors, "full_name", name);
    }
    let role = body.role.unwrap_or(current.role);
    if role != current.role {
        if role == Role::Citizen {
            errors.add(
                "role",
                Problem::one_of(&["officer", "leader", "admin", "integration"]),
            );
        } else if matches!(current.role, Role::Citizen | Role::Integration) {
            errors.add("role", Problem::rule(RuleCode::RoleChangeNotAllowed));
        }
    }
    let agency_id = body.agency_id.unwrap_or(current.agency_id);
    check_role_agency(&mut errors, role, agency_id);
    let (phone, email) = check_contact(
        &mut errors,
        body.phone.clone().flatten().as_deref(),
        body.email.clone().flatten().as_deref(),
    );
    if id == caller.user_id
        && (body.active == Some(false) || body.role.is_some_and(|r| r != Role::Admin))
    {
        errors.add("active", Problem::rule(RuleCode::CannotLockYourself));
    }
    if let Some(password) = &body.password {
        check_password(&mut errors, "password", password, &current.username);
    }
    errors.into_result()?;
    let password_hash = match body.password {
        Some(password) => Some(state.hasher.hash(password).await?),
        None => None,
    };
    let ends_sessions =
        body.active == Some(false) || password_hash.is_some() || body.role.is_some();
    let changes = users::UserChanges {
        full_name: body.full_name.map(|n| motcua_domain::text::nfc(&n)),
        phone: body.phone.map(|_| phone),
        email: body.email.map(|_| email),
        role: body.role,
        agency_id: body.agency_id,
        active: body.active,
        password_hash,
    };
    let user = state
        .db(move |conn| {
            write_tx(conn, |conn| {
                // Locked first, then compared: two writers holding the same
                // `If-Match` cannot both see the state it names.
                let before = users::lock(conn, id)?;
                precondition.check(&etag::of_representation(&UserView::from(before.clone())))?;
                if let Some(Some(agency)) = changes.agency_id {
                    agencies::by_id(conn, agency).map_err(|_| {
                        ApiError::field("agency_id", Problem::rule(RuleCode::UnknownAgency))
                    })?;
                }
                let new_password = changes.password_hash.is_some();
                let user = users::update(conn, id, changes, now)?;
                if ends_sessions {
                    sessions::revoke_user(conn, id, now)?;
                }
                let (before_json, after_json) =
                    (audit_json(&before, false), audit_json(&user, new_password));
                let changed = changed_fields(Some(&before_json), Some(&after_json));
                let action = user_action(&changed, before.active, user.active);
                audit::record(
                    conn,
                    &actor,
                    &Change::new(
                        EntityType::User,
                        id,
                        action,
                        Some(before_json),
                        Some(after_json),
                    ),
                    now,
                )?;
                Ok(user)
            })
        })
        .await?;
    // This process sees the change at once; others within `auth.account_cache_ms`.
    state.accounts.forget(id);
    tracing::info!(user_id = id, by = caller.user_id, "account changed");
    let view = UserView::from(user);
    Ok(HttpResponse::Ok()
        .insert_header((ETAG, etag::of_representation(&view)))
        .json(view))
}
