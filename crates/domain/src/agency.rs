use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::identity::is_valid_agency_code;
use crate::procedure::AdminLevel;
use crate::rules::{AgencyName, TextRule};
use crate::text::nfc;
use crate::validation::{FieldErrors, Problem};

/// An agency: a department (Sở), one of its divisions, a People's Committee,
/// a public service centre. Identified publicly by its electronic code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Agency {
    pub id: i64,
    #[cfg_attr(feature = "openapi", schema(example = "000.00.20.H56"))]
    pub code: String,
    pub name: String,
    pub level: AdminLevel,
    pub parent_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    /// A public service centre or commune counter that takes in dossiers for
    /// the procedures of any agency of the province (Decree 118/2025).
    pub receiving_point: bool,
}

/// The short form shown inside other resources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgencyRef {
    pub id: i64,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewAgency {
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = crate::rules::AgencyCode, example = "000.00.20.H56")
    )]
    pub code: String,
    #[cfg_attr(
        feature = "openapi",
        schema(
            value_type = crate::rules::AgencyName,
            example = "Sở Văn hóa, Thể thao và Du lịch"
        )
    )]
    pub name: String,
    pub level: AdminLevel,
    #[serde(default)]
    pub parent_id: Option<i64>,
    /// Takes in dossiers for other agencies' procedures (Decree 118/2025).
    #[serde(default)]
    pub receiving_point: bool,
}

/// What an admin may change on an agency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AgencyChanges {
    /// Takes in dossiers for other agencies' procedures (Decree 118/2025).
    #[serde(default)]
    pub receiving_point: Option<bool>,
}

impl NewAgency {
    pub fn normalized(mut self) -> Self {
        self.code = self.code.trim().to_owned();
        self.name = nfc(&self.name);
        self
    }

    pub fn validate(&self) -> Result<(), Vec<crate::validation::FieldError>> {
        let mut errors = FieldErrors::new();
        if !is_valid_agency_code(&self.code) {
            errors.add("code", Problem::format("000.00.20.H56"));
        }
        AgencyName::check(&mut errors, "name", &self.name);
        errors.into_result()
    }
}
