//! What the papers are made from: the dossier and its trail as plain data.

use chrono::{DateTime, NaiveDate, Utc};

use crate::dossier::DossierStatus;

/// One document handed in, as the receipt lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentFacts {
    pub name: String,
    pub originals: u8,
    pub copies: u8,
    /// `paper`, `electronic` or `reused`.
    pub form: String,
}

/// A supplement request: what is missing and by when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupplementFacts {
    pub missing: Vec<String>,
    pub deadline: NaiveDate,
    pub requested_at: DateTime<Utc>,
    pub requested_by: Option<String>,
    pub reason: Option<String>,
}

/// The refusal at intake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalFacts {
    pub reason: String,
    pub at: DateTime<Utc>,
    pub by: Option<String>,
}

/// An apology letter: why late, and the new date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApologyFacts {
    pub reason: String,
    pub new_appointment_date: NaiveDate,
    pub at: DateTime<Utc>,
}

/// One step of the trail: an action, who took it, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepFacts {
    /// An action name (`receive`, `assign`, …) or `submit`.
    pub action: String,
    pub to_status: DossierStatus,
    pub actor: Option<String>,
    pub agency: Option<String>,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

/// Everything the papers of one dossier are made from.
#[derive(Debug, Clone, PartialEq)]
pub struct PaperFacts {
    pub code: String,
    pub agency_name: String,
    pub handling_agency_name: String,
    /// The receiving point (public service centre, commune counter) that
    /// took the dossier in for `agency_name`, when that was another agency
    /// (Decree 118/2025).
    pub received_at_agency_name: Option<String>,
    pub procedure_code: String,
    pub procedure_name: String,
    pub applicant_name: String,
    /// Masked: only the last four digits.
    pub applicant_id_number: Option<String>,
    pub applicant_tax_code: Option<String>,
    pub status: DossierStatus,
    pub submitted_at: DateTime<Utc>,
    pub received_at: Option<DateTime<Utc>>,
    pub received_by: Option<String>,
    pub appointment_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub fees_due_vnd: i64,
    pub documents: Vec<DocumentFacts>,
    /// Oldest first.
    pub supplements: Vec<SupplementFacts>,
    pub refusal: Option<RefusalFacts>,
    /// Oldest first.
    pub apologies: Vec<ApologyFacts>,
    /// The trail, oldest first.
    pub steps: Vec<StepFacts>,
    /// The form data of the declaration, when the procedure has one.
    pub form_data: Option<serde_json::Value>,
    /// The form version the data was filed under: its labels, sections and
    /// order print the declaration.
    pub form: Option<crate::forms::FormDefinition>,
    pub tracking_pin: Option<String>,
    /// Where the QR leads: the public tracking address of the dossier.
    pub tracking_link: String,
    /// When the paper is printed.
    pub printed_at: DateTime<Utc>,
}
