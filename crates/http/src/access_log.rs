//! Every request an integration (portal) account makes on dossiers,
//! documents and payments is recorded, whatever its answer.

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::LOCATION;
use actix_web::middleware::Next;
use actix_web::web;
use motcua_domain::Role;
use motcua_persistence::repo::integrations::{self, NewAccess};

use crate::auth::peek_caller;
use crate::state::AppState;

const WATCHED: [&str; 3] = ["/api/v1/dossiers", "/api/v1/documents", "/api/v1/payments"];

/// The dossier code in a path like `/api/v1/dossiers/{code}/…`.
fn dossier_code(path: &str) -> Option<String> {
    path.strip_prefix("/api/v1/dossiers/")
        .and_then(|rest| rest.split('/').next())
        .filter(|code| !code.is_empty())
        .map(str::to_owned)
}

pub async fn integration_access_log(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let path = req.path().to_owned();
    let watched = WATCHED.iter().any(|p| path.starts_with(p));
    let caller = if watched {
        peek_caller(req.request())
            .await
            .filter(|c| c.role == Role::Integration)
    } else {
        None
    };
    let method = req.method().to_string();
    let res = next.call(req).await?;
    if let Some(caller) = caller {
        let status = i32::from(res.status().as_u16());
        // A filing names its new dossier in `Location`.
        let code = dossier_code(&path).or_else(|| {
            res.headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(dossier_code)
        });
        if let Some(state) = res.request().app_data::<web::Data<AppState>>().cloned() {
            let clock = state.clock.clone();
            let logged = state
                .db(move |conn| {
                    Ok(integrations::log_access(
                        conn,
                        &NewAccess {
                            user_id: caller.user_id,
                            method: &method,
                            path: &path,
                            dossier_code: code.as_deref(),
                            status,
                            at: clock.now(),
                        },
                    )?)
                })
                .await;
            if let Err(error) = logged {
                tracing::error!(?error, "integration access not logged");
            }
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_in_paths() {
        let cases = [
            (
                "/api/v1/dossiers/000.00.20.H56-261207-0001",
                Some("000.00.20.H56-261207-0001"),
            ),
            ("/api/v1/dossiers/X/receipt", Some("X")),
            ("/api/v1/dossiers", None),
            ("/api/v1/dossiers/", None),
            ("/api/v1/payments/abc", None),
        ];
        for (path, want) in cases {
            assert_eq!(dossier_code(path).as_deref(), want, "{path}");
        }
    }
}
