//! Documents: files handed in with dossiers and results issued, digitized and
//! kept in the applicant's store for reuse.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

crate::string_enum! {
    pub enum DocumentKind {
        /// Handed in by the applicant.
        Input => "input",
        /// Issued by the agency (digitized result).
        Result => "result",
    }
}

crate::string_enum! {
    /// When a document joined a dossier.
    pub enum DocumentStage {
        Submission => "submission",
        Supplement => "supplement",
        Result => "result",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Document {
    pub id: String,
    pub applicant_id: Option<i64>,
    pub uploaded_by: i64,
    pub kind: DocumentKind,
    pub title: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// In the applicant's store: reusable for later dossiers.
    pub in_store: bool,
    pub created_at: DateTime<Utc>,
}

/// The file types accepted, by their sniffed content.
pub const ACCEPTED_TYPES: [&str; 3] = ["application/pdf", "image/jpeg", "image/png"];

/// Keeps a client-supplied file name printable and short, without paths.
pub fn clean_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>'))
        .take(200)
        .collect();
    let cleaned = cleaned.trim().to_owned();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        "document".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        let cases = [
            ("to-khai.pdf", "to-khai.pdf"),
            ("../../etc/passwd", "passwd"),
            ("C:\\Users\\an\\giấy phép.pdf", "giấy phép.pdf"),
            ("a\u{0}b\r\n.png", "ab.png"),
            ("", "document"),
            ("..", "document"),
            ("\"quoted\".pdf", "quoted.pdf"),
        ];
        for (raw, want) in cases {
            assert_eq!(clean_file_name(raw), want, "{raw:?}");
        }
    }
}
