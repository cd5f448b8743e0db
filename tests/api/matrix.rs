//! The full action matrix: every action x every status x every role.
//!
//! The expectations are written out by hand below, not read from the domain
//! crate, so the server's state machine is checked against an independent
//! copy of the rules. Every cell is tried and every wrong one is reported.

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use motcua::seed::DEMO_CITIZEN_ID;
use motcua_domain::Role;
use motcua_tests::{TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

use crate::dossiers::submit_reissue;

on_both_backends!(every_action_in_every_status_for_every_role);

const STATUSES: [&str; 13] = [
    "submitted",
    "received",
    "in_review",
    "pending_approval",
    "approved",
    "supplement_requested",
    "result_ready",
    "posting",
    "returned",
    "refused",
    "rejected",
    "withdrawn",
    "cancelled",
];

/// In the order the server lists `allowed_actions`.
const ACTIONS: [&str; 18] = [
    "receive",
    "refuse",
    "assign",
    "request_supplement",
    "supplement",
    "propose",
    "approve",
    "send_back",
    "reject",
    "issue_result",
    "return",
    "withdraw",
    "cancel",
    "transfer",
    "apology",
    "post",
    "deliver",
    "delivery_failed",
];

/// Who acts, relative to the dossiers of this test (all filed by the demo
/// citizen with the demo department).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// The demo citizen, whose dossier it is.
    Applicant,
    /// A citizen registered by the test.
    OtherCitizen,
    /// demo.officer: the department's officer, receiving and handling.
    Officer,
    /// An officer of the demo commune, which never sees these dossiers.
    OtherOfficer,
    /// demo.leader: the department's leader.
    Leader,
    Admin,
    /// demo.portal: the integration account of the provincial portal.
    Portal,
}

impl Who {
    const ALL: [Who; 7] = [
        Who::Applicant,
        Who::OtherCitizen,
        Who::Officer,
        Who::OtherOfficer,
        Who::Leader,
        Who::Admin,
        Who::Portal,
    ];

    fn name(self) -> &'static str {
        match self {
            Who::Applicant => "applicant",
            Who::OtherCitizen => "other_citizen",
            Who::Officer => "officer",
            Who::OtherOfficer => "other_officer",
            Who::Leader => "leader",
            Who::Admin => "admin",
            Who::Portal => "portal",
        }
    }

    /// The portal neither filed these dossiers nor holds a grant: it acts
    /// only on what it filed (tests/api/identity.rs covers that side).
    fn sees_the_dossier(self) -> bool {
        !matches!(self, Who::OtherCitizen | Who::OtherOfficer | Who::Portal)
    }
}

/// Every transition the state machine allows: (from, action, to). Finished
/// statuses (returned, refused, rejected, withdrawn, cancelled) allow nothing.
const TRANSITIONS: &[(&str, &str, &str)] = &[
    ("submitted", "receive", "received"),
    ("submitted", "refuse", "refused"),
    ("submitted", "request_supplement", "supplement_requested"),
    ("submitted", "withdraw", "withdrawn"),
    ("submitted", "cancel", "cancelled"),
    ("received", "assign", "in_review"),
    ("received", "withdraw", "withdrawn"),
    ("received", "cancel", "cancelled"),
    ("received", "apology", "received"),
    ("in_review", "assign", "in_review"),
    ("in_review", "request_supplement", "supplement_requested"),
    ("in_review", "propose", "pending_approval"),
    ("in_review", "withdraw", "withdrawn"),
    ("in_review", "cancel", "cancelled"),
    ("in_review", "transfer", "in_review"),
    ("in_review", "apology", "in_review"),
    ("pending_approval", "approve", "approved"),
    ("pending_approval", "send_back", "in_review"),
    ("pending_approval", "reject", "rejected"),
    ("pending_approval", "withdraw", "withdrawn"),
    ("pending_approval", "cancel", "cancelled"),
    ("pending_approval", "apology", "pending_approval"),
    ("approved", "issue_result", "result_ready"),
    ("approved", "withdraw", "withdrawn"),
    ("approved", "cancel", "cancelled"),
    ("approved", "apology", "approved"),
    // Requested from in_review, so the supplement goes back there.
    ("supplement_requested", "supplement", "in_review"),
    ("supplement_requested", "withdraw", "withdrawn"),
    ("supplement_requested", "cancel", "cancelled"),
    ("supplement_requested", "apology", "supplement_requested"),
    ("result_ready", "return", "returned"),
    ("result_ready", "withdraw", "withdrawn"),
    ("result_ready", "cancel", "cancelled"),
    ("result_ready", "apology", "result_ready"),
    ("result_ready", "post", "posting"),
    // With the post: delivered, or back at the counter; nothing else.
    ("posting", "deliver", "returned"),
    ("posting", "delivery_failed", "result_ready"),
];

/// Who may take an action on these dossiers at all, whatever the status.
fn takers(action: &str) -> &'static [Who] {
    use Who::{Admin, Applicant, Leader, Officer, Portal};
    match action {
        "receive" | "refuse" | "return" | "propose" | "issue_result" | "request_supplement"
        | "post" | "deliver" | "delivery_failed" => &[Officer, Admin],
        "assign" | "transfer" | "cancel" | "apology" => &[Officer, Leader, Admin],
        "approve" | "send_back" | "reject" => &[Leader, Admin],
        "supplement" | "withdraw" => &[Applicant, Portal, Admin],
        other => panic!("no rule for {other}"),
    }
}

fn next(status: &str, action: &str) -> Option<&'static str> {
    TRANSITIONS
        .iter()
        .find(|(from, a, _)| *from == status && *a == action)
        .map(|(_, _, to)| *to)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expected {
    /// 200 and the dossier in this status.
    Done(&'static str),
    NotFound,
    Forbidden,
    /// 409 `invalid_transition` listing what the actor could do instead.
    Invalid(Vec<&'static str>),
}

fn expected(status: &str, action: &str, who: Who) -> Expected {
    if !who.sees_the_dossier() {
        return Expected::NotFound;
    }
    if !takers(action).contains(&who) {
        return Expected::Forbidden;
    }
    match next(status, action) {
        Some(to) => Expected::Done(to),
        None => Expected::Invalid(
            ACTIONS
                .iter()
                .copied()
                .filter(|a| next(status, a).is_some() && takers(a).contains(&who))
                .collect(),
        ),
    }
}

/// The steps from a new (submitted) dossier to each status.
fn path(status: &str) -> &'static [(Who, &'static str)] {
    use Who::{Applicant, Leader, Officer};
    match status {
        "submitted" => &[],
        "received" => &[(Officer, "receive")],
        "in_review" => &[(Officer, "receive"), (Officer, "assign")],
        "pending_approval" => &[
            (Officer, "receive"),
            (Officer, "assign"),
            (Officer, "propose"),
        ],
        "approved" => &[
            (Officer, "receive"),
            (Officer, "assign"),
            (Officer, "propose"),
            (Leader, "approve"),
        ],
        "supplement_requested" => &[
            (Officer, "receive"),
            (Officer, "assign"),
            (Officer, "request_supplement"),
        ],
        "result_ready" => &[
            (Officer, "receive"),
            (Officer, "assign"),
            (Officer, "propose"),
            (Leader, "approve"),
            (Officer, "issue_result"),
        ],
        "posting" => &[
            (Officer, "receive"),
            (Officer, "assign"),
            (Officer, "propose"),
            (Leader, "approve"),
            (Officer, "issue_result"),
            (Officer, "post"),
        ],
        "returned" => &[
            (Officer, "receive"),
            (Officer, "assign"),
            (Officer, "propose"),
            (Leader, "approve"),
            (Officer, "issue_result"),
            (Officer, "return"),
        ],
        "refused" => &[(Officer, "refuse")],
        "rejected" => &[
            (Officer, "receive"),
            (Officer, "assign"),
            (Officer, "propose"),
            (Leader, "reject"),
        ],
        "withdrawn" => &[(Applicant, "withdraw")],
        "cancelled" => &[(Officer, "cancel")],
        other => panic!("no path to {other}"),
    }
}

struct Matrix<'a> {
    app: &'a TestApp,
    /// Indexed by `Who as usize`.
    tokens: Vec<String>,
    officer_id: i64,
    commune_id: i64,
    /// A working day at least a week ahead.
    appointment: chrono::NaiveDate,
}

impl Matrix<'_> {
    fn token(&self, who: Who) -> &str {
        &self.tokens[who as usize]
    }

    /// A complete, valid payload, so that only status and role decide.
    fn payload(&self, action: &str) -> Value {
        match action {
            "refuse" | "reject" | "cancel" | "send_back" => {
                json!({"action": action, "note": "Lý do bằng văn bản"})
            }
            "assign" => json!({"action": action, "assignee_id": self.officer_id}),
            "request_supplement" => {
                json!({"action": action, "missing": ["Bản sao giấy phép có chứng thực"]})
            }
            "supplement" => json!({"action": action, "note": "Đã bổ sung theo yêu cầu"}),
            "post" => json!({"action": action, "tracking_number": "EE123456789VN"}),
            "delivery_failed" => json!({"action": action, "note": "Không có người nhận"}),
            "issue_result" => json!({"action": action, "paper_result": true}),
            "transfer" => json!({"action": action, "target_agency_id": self.commune_id}),
            "apology" => json!({
                "action": action,
                "note": "Xin lỗi vì chậm trễ",
                "new_appointment_date": self.appointment,
            }),
            _ => json!({"action": action}),
        }
    }

    /// The dossier's current ETag and status, read as the admin.
    async fn current(&self, code: &str) -> (String, String) {
        let shown = self.app.dossier(self.token(Who::Admin), code).await;
        (shown.etag.clone(), shown.status().to_owned())
    }

    async fn act(&self, who: Who, code: &str, etag: &str, action: &str) -> reqwest::Response {
        self.app
            .act_raw(self.token(who), code, Some(etag), &self.payload(action))
            .await
    }

    /// A new dossier driven through the API to `status`.
    async fn fresh(&self, status: &str) -> String {
        let code = submit_reissue(self.app, self.token(Who::Applicant))
            .await
            .code()
            .to_owned();
        // Every dossier's result may go by post (a postal return is chosen).
        let res = self
            .app
            .put(&format!("/api/v1/dossiers/{code}/postal-return"))
            .header("authorization", bearer(self.token(Who::Applicant)))
            .json(&json!({"recipient": "Nguyễn Văn An", "address": "12 Lê Lợi", "phone": "0912345678"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "postal return of {code}");
        for (who, action) in path(status) {
            let (etag, _) = self.current(&code).await;
            let res = self.act(*who, &code, &etag, action).await;
            let got = res.status();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            assert_eq!(
                got,
                200,
                "driving {code} to {status}: {action} by {}: {body}",
                who.name()
            );
        }
        let (_, now) = self.current(&code).await;
        assert_eq!(now, status, "driving {code} to {status}");
        code
    }

    /// An action the server must perform: on a fresh dossier, 200 and the new status.
    async fn allowed(&self, status: &str, action: &str, who: Who, to: &str) -> Result<(), String> {
        let code = self.fresh(status).await;
        let (etag, _) = self.current(&code).await;
        let res = self.act(who, &code, &etag, action).await;
        let got = res.status();
        let new_etag = res
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if got != 200 {
            return Err(format!("got {got}: {body}"));
        }
        if body["status"] != to {
            return Err(format!("200 but status {}", body["status"]));
        }
        let (after, _) = self.current(&code).await;
        if new_etag.as_deref() != Some(after.as_str()) || after == etag {
            return Err(format!(
                "ETag {etag} → response {new_etag:?}, dossier now {after}"
            ));
        }
        Ok(())
    }

    /// An action the server must refuse, leaving the dossier as it was.
    async fn refused(
        &self,
        code: &str,
        etag: &str,
        action: &str,
        who: Who,
        want: &Expected,
    ) -> Result<(), String> {
        let res = self.act(who, code, etag, action).await;
        let outcome = match want {
            Expected::NotFound => expect_problem(res, 404, "not_found").await.map(drop),
            Expected::Forbidden => expect_problem(res, 403, "forbidden").await.map(drop),
            Expected::Invalid(allowed) => {
                match expect_problem(res, 409, "invalid_transition").await {
                    Ok(body) if body["allowed_actions"] != json!(allowed) => Err(format!(
                        "409 but allowed_actions {}",
                        body["allowed_actions"]
                    )),
                    other => other.map(drop),
                }
            }
            Expected::Done(_) => unreachable!("not a refusal"),
        };
        let (after, _) = self.current(code).await;
        match outcome {
            Err(e) => Err(e),
            Ok(()) if after != etag => Err(format!("refused, but the ETag moved {etag} → {after}")),
            Ok(()) => Ok(()),
        }
    }
}

/// `problem` from support, its assertion failures returned instead of raised.
async fn expect_problem(res: reqwest::Response, status: u16, code: &str) -> Result<Value, String> {
    let got = res.status();
    if got.as_u16() != status {
        let body = res.text().await.unwrap_or_default();
        return Err(format!("got {got}: {body}"));
    }
    AssertUnwindSafe(problem(res, status, code))
        .catch_unwind()
        .await
        .map_err(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "problem assertion failed".to_owned())
        })
}

/// The first working day at least a week ahead (Vietnam time).
async fn working_day_next_week(app: &TestApp) -> chrono::NaiveDate {
    let mut day =
        (chrono::Utc::now() + chrono::Duration::hours(7) + chrono::Duration::days(7)).date_naive();
    for _ in 0..30 {
        let res = app
            .get(&format!("/api/v1/calendar/days/{day}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "calendar day {day}");
        let shown: Value = res.json().await.unwrap();
        if shown["working"] == true {
            return day;
        }
        day += chrono::Duration::days(1);
    }
    panic!("no working day within a month of {day}");
}

async fn every_action_in_every_status_for_every_role(app: TestApp) {
    let started = std::time::Instant::now();
    let admin = app.token(Role::Admin).await;
    let commune_id = app.agency_id("000.00.31.H56").await;
    let res = app
        .post("/api/v1/auth/register")
        .json(&json!({"id_number": "079203009999", "full_name": "Lê Thị Khác", "phone": "0912000999", "password": "mat-khau-nguoi-khac"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "register the other citizen");
    let res = app
        .post("/api/v1/users")
        .header("authorization", bearer(&admin))
        .json(&json!({"username": "canbo.xa.matran", "password": "mat-khau-can-bo-xa", "role": "officer", "agency_id": commune_id, "full_name": "Cán bộ xã (ma trận)"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "create the commune officer");
    let access = |body: Value| body["access_token"].as_str().unwrap().to_owned();
    let mut tokens = vec![String::new(); Who::ALL.len()];
    tokens[Who::Applicant as usize] = app.token_of(DEMO_CITIZEN_ID).await;
    tokens[Who::OtherCitizen as usize] =
        access(app.login("079203009999", "mat-khau-nguoi-khac").await);
    tokens[Who::Officer as usize] = app.token_of("demo.officer").await;
    tokens[Who::OtherOfficer as usize] =
        access(app.login("canbo.xa.matran", "mat-khau-can-bo-xa").await);
    tokens[Who::Leader as usize] = app.token(Role::Leader).await;
    tokens[Who::Admin as usize] = admin;
    tokens[Who::Portal as usize] = app.token(Role::Integration).await;
    let matrix = Matrix {
        officer_id: app.user_id("demo.officer").await,
        commune_id,
        appointment: working_day_next_week(&app).await,
        tokens,
        app: &app,
    };

    let mut cells = 0;
    let mut performed = 0;
    let mut wrong: Vec<String> = Vec::new();
    for status in STATUSES {
        // Refusals change nothing: one dossier per status serves them all.
        let code = matrix.fresh(status).await;
        for action in ACTIONS {
            for who in Who::ALL {
                let want = expected(status, action, who);
                cells += 1;
                let outcome = match &want {
                    Expected::Done(to) => {
                        performed += 1;
                        matrix.allowed(status, action, who, to).await
                    }
                    refusal => {
                        let (etag, now) = matrix.current(&code).await;
                        assert_eq!(now, status, "the shared {status} dossier moved");
                        matrix.refused(&code, &etag, action, who, refusal).await
                    }
                };
                if let Err(got) = outcome {
                    wrong.push(format!(
                        "{status} × {action} × {}: want {want:?}; {got}",
                        who.name()
                    ));
                }
            }
        }
    }
    eprintln!(
        "matrix on {}: {cells} cells, {performed} performed, in {:.1?}",
        app.backend.as_str(),
        started.elapsed()
    );
    assert!(
        wrong.is_empty(),
        "{} of {cells} cells wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(cells, STATUSES.len() * ACTIONS.len() * Who::ALL.len());
    assert_eq!(cells, 1638);
    assert_eq!(performed, 90, "allowed cells in the hand-written rules");
}
