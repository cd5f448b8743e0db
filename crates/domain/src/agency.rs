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
