//! The receipt slip: what it shows, assembled from the dossier.

use super::{
    Action, AnyConnection, ApiError, ApiResult, Channel, DateTime, Deserialize, Dossier, ErrorCode,
    IntoParams, Serialize, ToSchema, Utc, calendar, dossiers, procedures,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptLine {
    pub requirement: String,
    pub name: String,
    pub originals: u8,
    pub copies: u8,
    /// `paper`, `electronic` or `reused` (from the applicant's store).
    pub form: &'static str,
}

/// The receipt slip (giấy tiếp nhận hồ sơ và hẹn trả kết quả).
#[derive(Debug, Serialize, ToSchema)]
pub struct Receipt {
    pub code: String,
    /// The competent agency, which handles the dossier and returns the result.
    pub agency: motcua_domain::agency::AgencyRef,
    /// The receiving point (public service centre, commune counter) that took
    /// the dossier in for `agency`, when that was another agency (Decree 118/2025).
    pub received_at_agency: Option<motcua_domain::agency::AgencyRef>,
    pub procedure: motcua_domain::dossier::ProcedureRef,
    pub applicant_name: String,
    /// Only the last four digits.
    pub applicant_id_number: Option<String>,
    /// An organisation's tax code, in full (it is public).
    pub applicant_tax_code: Option<String>,
    pub channel: Channel,
    pub received_at: DateTime<Utc>,
    /// The appointment to collect the result (after any apology letter).
    pub appointment_at: Option<DateTime<Utc>>,
    /// The appointment was counted across days of a year whose official
    /// holiday notice is not confirmed yet (Labour Code days assumed), so it
    /// may still move.
    pub appointment_provisional: bool,
    pub documents: Vec<ReceiptLine>,
    pub fees_due_vnd: i64,
    pub received_by: Option<String>,
    /// For an organisation's dossier: the PIN that tracking asks for with the
    /// tax code (a tax code is public, so it cannot be the secret alone).
    pub tracking_pin: Option<String>,
}

pub(super) fn receipt_of(
    conn: &mut AnyConnection,
    d: &Dossier,
    hours: motcua_domain::calendar::WorkingHours,
) -> ApiResult<Receipt> {
    let Some(received_at) = d.received_at else {
        return Err(ApiError::new(ErrorCode::InvalidTransition).detail(
            "Hồ sơ chưa được tiếp nhận nên chưa có giấy tiếp nhận.",
            "The dossier has not been received, so it has no receipt yet.",
        ));
    };
    let spec = procedures::get_by_id(conn, d.procedure.id)?.spec;
    let mut documents = Vec::new();
    for line in dossiers::documents_of(conn, d.id)?
        .into_iter()
        .filter(|l| l.stage != "result")
    {
        let requirement = line.requirement.clone().unwrap_or_default();
        let required = spec
            .required_documents
            .iter()
            .find(|r| r.code == requirement);
        documents.push(ReceiptLine {
            name: required.map_or_else(|| unlisted_line_name(&line), |r| r.name.clone()),
            originals: required.map_or(1, |r| r.originals),
            copies: required.map_or(0, |r| r.copies),
            form: if line.paper {
                "paper"
            } else if line.reused {
                "reused"
            } else {
                "electronic"
            },
            requirement,
        });
    }
    let received_by = dossiers::history(conn, d.id)?
        .into_iter()
        .rev()
        .find(|e| e.action == Action::Receive.as_str())
        .and_then(|e| e.actor_name);
    Ok(Receipt {
        code: d.code.clone(),
        agency: d.agency.clone(),
        received_at_agency: d.received_at_agency.clone(),
        procedure: d.procedure.clone(),
        applicant_name: d.applicant.full_name.clone(),
        applicant_id_number: d.applicant.id_number.as_deref().map(|n| {
            let shown = n.chars().count().saturating_sub(4);
            format!("********{}", n.chars().skip(shown).collect::<String>())
        }),
        applicant_tax_code: d.applicant.tax_code.clone(),
        channel: d.channel,
        received_at,
        appointment_at: d.appointment_at,
        appointment_provisional: match d.appointment_at {
            Some(appointment) => calendar::load(conn, hours)?.rests_on_provisional(
                motcua_domain::local_time::date(received_at),
                motcua_domain::local_time::date(appointment),
            ),
            None => false,
        },
        documents,
        fees_due_vnd: d.fees_due_vnd,
        received_by,
        tracking_pin: dossiers::tracking_pin(conn, d.id)?,
    })
}

/// The name of a line that meets no requirement: its document's title, or,
/// for the representative's authorisation handed in on paper (the one such
/// line a filing writes without a document), what it is.
fn unlisted_line_name(line: &dossiers::DossierDocument) -> String {
    match line.title.as_deref().map(str::trim) {
        Some(title) if !title.is_empty() => title.to_owned(),
        _ if line.requirement.is_none() => "Văn bản ủy quyền".to_owned(),
        _ => String::new(),
    }
}

/// Local (UTC+7) wall time, as printed on Vietnamese forms.
pub(super) fn local(at: DateTime<Utc>) -> String {
    motcua_domain::local_time::on_forms(at)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReceiptQuery {
    /// `json` (default) or `html`; `Accept: text/html` also gives the printable page.
    #[param(inline)]
    pub format: Option<ReceiptFormat>,
}

/// How the receipt is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptFormat {
    Json,
    Html,
}
