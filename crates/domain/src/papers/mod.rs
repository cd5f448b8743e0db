//! The official papers (Circular 01/2018/TT-VPCP): what each one says, as
//! plain data. Drawing them (PDF, HTML) is for the layers above; this module
//! decides which papers a dossier has and what is written on them.
//!
//! `facts` holds what a paper is made from; `content` builds each paper.

mod content;
mod facts;

pub use content::{action_label, declaration_sections, form_rows, paper};
pub use facts::{
    ApologyFacts, DocumentFacts, PaperFacts, RefusalFacts, StepFacts, SupplementFacts,
};

use chrono::{DateTime, Utc};

crate::string_enum! {
    /// A paper the one-stop shop prints for a dossier.
    pub enum PaperKind {
        /// Giấy tiếp nhận hồ sơ và hẹn trả kết quả (Mẫu 01).
        Receipt => "receipt",
        /// Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ (Mẫu 02).
        SupplementRequest => "supplement_request",
        /// Phiếu từ chối tiếp nhận giải quyết hồ sơ (Mẫu 03).
        Refusal => "refusal",
        /// Phiếu xin lỗi và hẹn lại ngày trả kết quả (Mẫu 04).
        Apology => "apology",
        /// Phiếu kiểm soát quá trình giải quyết hồ sơ (Mẫu 05).
        ControlSheet => "control_sheet",
        /// Tờ khai: the declaration filled with the dossier's form data.
        Declaration => "declaration",
    }
}

/// Why a dossier has no such paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotApplicable {
    #[error("the dossier has not been received")]
    NotReceived,
    #[error("no supplement was requested")]
    NoSupplementRequest,
    #[error("the dossier was not refused at intake")]
    NotRefused,
    #[error("no apology letter was written: the dossier is not late")]
    NoApology,
}

impl NotApplicable {
    /// The reason in Vietnamese, then in English, for a problem's detail.
    pub fn detail(self) -> (&'static str, &'static str) {
        match self {
            NotApplicable::NotReceived => (
                "Hồ sơ chưa được tiếp nhận nên chưa có phiếu này.",
                "The dossier has not been received, so it has no such paper yet.",
            ),
            NotApplicable::NoSupplementRequest => (
                "Hồ sơ không có yêu cầu bổ sung, hoàn thiện nào.",
                "No supplement was requested for this dossier.",
            ),
            NotApplicable::NotRefused => (
                "Hồ sơ không bị từ chối tiếp nhận.",
                "The dossier was not refused at intake.",
            ),
            NotApplicable::NoApology => (
                "Hồ sơ không quá hạn nên không có phiếu xin lỗi.",
                "The dossier is not late, so it has no apology letter.",
            ),
        }
    }
}

/// Whether the dossier has this paper: the supplement request only when one
/// was made, the refusal only when refused at intake, the apology only when
/// an apology letter was written (the dossier is late).
pub fn applies(kind: PaperKind, facts: &PaperFacts) -> Result<(), NotApplicable> {
    match kind {
        PaperKind::Receipt | PaperKind::ControlSheet if facts.received_at.is_none() => {
            Err(NotApplicable::NotReceived)
        }
        PaperKind::SupplementRequest if facts.supplements.is_empty() => {
            Err(NotApplicable::NoSupplementRequest)
        }
        PaperKind::Refusal if facts.refusal.is_none() => Err(NotApplicable::NotRefused),
        PaperKind::Apology if facts.apologies.is_empty() => Err(NotApplicable::NoApology),
        _ => Ok(()),
    }
}

/// One block of a paper's body, top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A paragraph, wrapped to the page.
    Text(String),
    /// `label: value`, the value in bold.
    Field { label: String, value: String },
    /// A table: column titles with their share of the width (per mille), rows.
    Table {
        columns: Vec<(String, u16)>,
        rows: Vec<Vec<String>>,
    },
}

/// A signature box at the foot: who signs, and the name printed under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub role: String,
    pub hint: String,
    pub name: Option<String>,
}

/// A paper's content, ready to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paper {
    pub kind: PaperKind,
    /// The agency's name, top left, upper case.
    pub agency: String,
    /// Top left under the agency: the paper's number (`Số: …`).
    pub number: String,
    /// `…, ngày 07 tháng 12 năm 2026`, top right under the motto.
    pub dated: String,
    pub title: String,
    pub subtitle: Option<String>,
    /// The dossier code, printed beside the QR.
    pub code: String,
    /// The tracking link the QR carries.
    pub tracking_link: String,
    pub blocks: Vec<Block>,
    pub signatures: Vec<Signature>,
}

/// The national header every paper carries.
pub const NATION: &str = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM";
pub const MOTTO: &str = "Độc lập - Tự do - Hạnh phúc";

/// `ngày 07 tháng 12 năm 2026` for a moment, on the Vietnamese wall clock.
pub fn dated(at: DateTime<Utc>) -> String {
    crate::local_time::wall(at)
        .format("ngày %d tháng %m năm %Y")
        .to_string()
}

#[cfg(test)]
mod tests;
