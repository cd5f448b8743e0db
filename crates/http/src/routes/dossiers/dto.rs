//! Request and response bodies of the dossier routes.

use motcua_domain::representation::{Contact, RepresentativeInput, RepresentativeKind};
use motcua_persistence::repo::representatives::StoredRepresentative;

use super::{
    Action, Apology, ApplicantInput, Channel, DateTime, Deserialize, DocumentInput, Dossier,
    DossierDocument, IntoParams, NaiveDate, Outcome, Progress, Rating, RatingScore, Serialize,
    Submission, ToSchema, Utc,
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicantBody {
    /// A person's 12-digit citizen ID number. Give this or `tax_code`.
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::CitizenIdNumberOrBlank>, example = "079203001234")]
    pub id_number: Option<String>,
    /// An organisation's tax code (10 digits, or 10-3 for a branch), when a
    /// business or association files.
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::TaxCodeNumberOrBlank>, example = "0100233488")]
    pub tax_code: Option<String>,
    /// Required when the applicant is new to the system.
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::PersonNameOrBlank>)]
    pub full_name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::PhoneNumberOrBlank>)]
    pub phone: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::EmailOrBlank>)]
    pub email: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub date_of_birth: Option<NaiveDate>,
}

/// Who files on behalf of the applicant (ủy quyền), with the authorisation
/// document (giấy ủy quyền / văn bản ủy quyền).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepresentativeBody {
    /// `person` (by citizen ID number) or `organisation` (by tax code).
    #[serde(default)]
    #[schema(value_type = Option<RepresentativeKind>)]
    pub kind: Option<RepresentativeKind>,
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::PersonNameOrBlank>)]
    pub full_name: Option<String>,
    /// A person's 12-digit citizen ID number.
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::CitizenIdNumberOrBlank>, example = "001099012345")]
    pub id_number: Option<String>,
    /// An organisation's tax code.
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::TaxCodeNumberOrBlank>)]
    pub tax_code: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::PhoneNumberOrBlank>)]
    pub phone: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::EmailOrBlank>)]
    pub email: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    /// The authorisation document: an id from `POST /documents`. Required
    /// unless handed in on paper at the counter.
    #[serde(default)]
    pub authorisation_document_id: Option<String>,
    /// The authorisation handed in on paper (counter and postal dossiers only).
    #[serde(default)]
    pub authorisation_paper: bool,
    /// The last day the authorisation is valid; not before the filing day.
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
}

impl From<RepresentativeBody> for RepresentativeInput {
    fn from(b: RepresentativeBody) -> Self {
        RepresentativeInput {
            kind: b.kind,
            full_name: b.full_name.unwrap_or_default(),
            id_number: b.id_number,
            tax_code: b.tax_code,
            phone: b.phone,
            email: b.email,
            address: b.address,
            authorisation_document_id: b.authorisation_document_id,
            authorisation_paper: b.authorisation_paper,
            valid_until: b.valid_until,
        }
    }
}

impl From<ApplicantBody> for ApplicantInput {
    fn from(a: ApplicantBody) -> Self {
        ApplicantInput {
            id_number: a.id_number,
            tax_code: a.tax_code,
            full_name: a.full_name.unwrap_or_default(),
            phone: a.phone,
            email: a.email,
            address: a.address,
            date_of_birth: a.date_of_birth,
        }
    }
}

/// The representative a dossier was filed by.
#[derive(Debug, Serialize, ToSchema)]
pub struct RepresentativeView {
    #[schema(value_type = RepresentativeKind)]
    pub kind: RepresentativeKind,
    pub full_name: String,
    pub id_number: Option<String>,
    pub tax_code: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    /// The authorisation document (a line of the dossier's documents); none when on paper.
    pub authorisation_document_id: Option<String>,
    pub valid_until: Option<NaiveDate>,
    /// Whom tracking and notifications reach.
    #[schema(value_type = Contact)]
    pub contact: Contact,
    /// Filed online by the representative's own citizen account, whose reach
    /// ends with the dossier.
    pub filed_online: bool,
    /// When the representative's reach ended (the dossier finished).
    pub ended_at: Option<DateTime<Utc>>,
}

impl From<StoredRepresentative> for RepresentativeView {
    fn from(r: StoredRepresentative) -> Self {
        let rep = r.representative;
        Self {
            kind: rep.kind,
            full_name: rep.full_name,
            id_number: rep.id_number,
            tax_code: rep.tax_code,
            phone: rep.phone,
            email: rep.email,
            address: rep.address,
            authorisation_document_id: r.authorisation_document_id,
            valid_until: rep.valid_until,
            contact: r.contact,
            filed_online: r.user_id.is_some(),
            ended_at: r.ended_at,
        }
    }
}

/// The one mapping of a filing on the wire to the app's submission, for
/// `POST /dossiers` and the national portal's `POST /portal/dossiers`.
impl From<SubmitRequest> for Submission {
    fn from(request: SubmitRequest) -> Self {
        Submission {
            procedure_code: request.procedure_code,
            agency_id: request.agency_id,
            channel: request.channel,
            result_channel: request.result_channel,
            applicant: request.applicant.map(Into::into),
            documents: request.documents.into_iter().map(Into::into).collect(),
            fee_codes: request.fee_codes,
            note: request.note,
            form_data: request.form_data,
            representative: request.representative.map(Into::into),
            contact: request.contact,
        }
    }
}

/// One required document met: by an uploaded file, a file from the applicant's
/// store, or (at the counter) paper.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentRef {
    /// Code of the procedure's required document, e.g. `D1`.
    #[serde(default)]
    pub requirement: Option<String>,
    /// Id from `POST /documents`, or of a document in the applicant's store.
    #[serde(default)]
    pub document_id: Option<String>,
    /// Handed in on paper at the counter (counter and postal dossiers only).
    #[serde(default)]
    pub paper: bool,
}

impl From<DocumentRef> for DocumentInput {
    fn from(d: DocumentRef) -> Self {
        DocumentInput {
            requirement: d.requirement,
            document_id: d.document_id,
            paper: d.paper,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    #[schema(value_type = motcua_domain::rules::ProcedureCode, example = "1.004630")]
    pub procedure_code: String,
    /// The receiving agency, for procedures every commune handles.
    #[serde(default)]
    pub agency_id: Option<i64>,
    /// `online` for citizens and the portal; `counter` (default) or `postal` for officers.
    #[serde(default)]
    pub channel: Option<Channel>,
    /// How the result goes back; defaults to the submission channel.
    #[serde(default)]
    pub result_channel: Option<Channel>,
    /// Officers and integration accounts: whom the dossier is for. Citizens leave it out.
    #[serde(default)]
    pub applicant: Option<ApplicantBody>,
    #[serde(default)]
    pub documents: Vec<DocumentRef>,
    /// For procedures with fee tiers: the codes that apply.
    #[serde(default)]
    pub fee_codes: Vec<String>,
    #[serde(default)]
    pub note: Option<String>,
    /// The declaration (tờ khai): data for the procedure's e-form
    /// (`GET /procedures/{code}/form`), checked against its JSON Schema.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub form_data: Option<serde_json::Value>,
    /// Filing on behalf of the applicant: the representative and the
    /// authorisation document. A citizen filing for someone else names the
    /// applicant and itself as representative.
    #[serde(default)]
    pub representative: Option<RepresentativeBody>,
    /// Whom tracking and notifications reach: `representative` (the default
    /// when one is named) or `applicant`.
    #[serde(default)]
    #[schema(value_type = Option<Contact>)]
    pub contact: Option<Contact>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DossierView {
    #[serde(flatten)]
    pub dossier: Dossier,
    /// The status in Vietnamese, for display.
    pub status_label: &'static str,
    /// Status code of the National Public Service Portal (1–10).
    pub portal_status: u8,
    /// Once processing ended: `early`, `on_time` or `late` against `due_at`.
    pub outcome: Option<Outcome>,
    /// While open: `within_time` or `overdue` now.
    pub progress: Option<Progress>,
    /// What the caller may do next.
    pub allowed_actions: Vec<Action>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SupplementRequestView {
    pub missing: Vec<String>,
    /// JSON pointers of the form fields to correct (in `form.data`).
    pub fields: Vec<String>,
    pub deadline: NaiveDate,
    pub requested_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DossierDetail {
    #[serde(flatten)]
    pub view: DossierView,
    pub documents: Vec<DossierDocument>,
    pub supplement_request: Option<SupplementRequestView>,
    pub apologies: Vec<Apology>,
    pub rating: Option<Rating>,
    /// Money received beyond the fee (a payment that arrived after the fee was
    /// paid by another route); each surplus has a refund proposed or made.
    pub fees_overpaid_vnd: i64,
    /// The declaration filed with it, if any.
    pub form: Option<DossierFormView>,
    /// Who filed it on behalf of the applicant, if anyone.
    pub representative: Option<RepresentativeView>,
}

/// The form data a dossier was filed with.
#[derive(Debug, Serialize, ToSchema)]
pub struct DossierFormView {
    /// The version of the procedure's form it was filed under.
    pub version: i32,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// The values equal to what pre-fill offered, with their source.
    pub prefilled: Vec<motcua_domain::forms::PrefilledField>,
    /// Its values came from an earlier dossier: it counts toward data reuse.
    pub reused: bool,
    /// The fields the latest supplement request pointed at.
    pub supplement_fields: Vec<String>,
    /// 1 as filed; each correction sent with a supplement adds one (the
    /// trail line of that supplement names the fields that changed).
    pub revision: i32,
}

impl From<motcua_persistence::repo::forms::DossierForm> for DossierFormView {
    fn from(f: motcua_persistence::repo::forms::DossierForm) -> Self {
        Self {
            version: f.form_version,
            data: f.data,
            prefilled: f.prefilled,
            reused: f.reused,
            supplement_fields: f.supplement_fields,
            revision: f.revision,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DossierQuery {
    /// One status or several separated by commas, e.g. `received,in_review`.
    pub status: Option<String>,
    pub procedure_code: Option<String>,
    /// Receiving or handling agency (admins and the portal; staff see their agency anyway).
    pub agency_id: Option<i64>,
    /// `true`: open dossiers past their due moment.
    pub overdue: Option<bool>,
    /// Open dossiers due within this many working days (0 = today), not yet overdue.
    #[param(value_type = Option<motcua_domain::rules::DueWithinDays>)]
    pub due_within: Option<u32>,
    pub channel: Option<Channel>,
    /// Submitted on or after this date (local).
    pub from: Option<NaiveDate>,
    /// Submitted on or before this date (local).
    pub to: Option<NaiveDate>,
    /// Code, applicant name or ID number.
    pub q: Option<String>,
    /// `me`: dossiers assigned to the caller.
    pub assignee: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    pub action: Action,
    /// Remark, or the written reason (required to refuse, reject, cancel, send back, apologise).
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::NoteOrBlank>)]
    pub note: Option<String>,
    /// assign: the officer to handle it.
    #[serde(default)]
    pub assignee_id: Option<i64>,
    /// assign: the division to route it to.
    #[serde(default)]
    pub unit_id: Option<i64>,
    /// transfer: the agency to hand it to (inter-agency one-stop).
    #[serde(default)]
    pub target_agency_id: Option<i64>,
    /// request_supplement: what is missing.
    #[serde(default)]
    pub missing: Vec<String>,
    /// request_supplement: JSON pointers of form fields to correct, e.g. `/event/start_date`.
    #[serde(default)]
    pub fields: Vec<String>,
    /// request_supplement: date to supplement by (default: 15 working days).
    #[serde(default)]
    pub deadline: Option<NaiveDate>,
    /// supplement: documents added; issue_result: result documents (uploaded as `kind=result`).
    #[serde(default)]
    pub documents: Vec<DocumentRef>,
    /// supplement: the corrected declaration (the whole form data), checked
    /// against the form version the dossier was filed under; errors point
    /// into it (`/form_data/...`). Stored as the dossier's next revision.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub form_data: Option<serde_json::Value>,
    /// issue_result: the result exists on paper only.
    #[serde(default)]
    pub paper_result: bool,
    /// apology: the new appointment date (a working day).
    #[serde(default)]
    pub new_appointment_date: Option<NaiveDate>,
    /// post: the postal service's tracking number (letters, digits, dashes; 4 to 40).
    #[serde(default)]
    #[schema(example = "EE123456789VN", max_length = 40)]
    pub tracking_number: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttachedDocument {
    pub document: motcua_domain::document::Document,
    /// The dossier's new version.
    pub dossier_etag: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    pub score: RatingScore,
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::CommentOrBlank>)]
    pub comment: Option<String>,
}
