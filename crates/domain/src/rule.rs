//! The named rules a field error can cite: one code each, stable on the
//! wire (`errors[].code` of a problem), with its message in Vietnamese and
//! English. A rule without both messages does not compile.

macro_rules! rule_codes {
    ($($variant:ident => $code:literal, $vi:literal, $en:literal;)+) => {
        /// A named rule of the domain or the API.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum RuleCode {
            $(
                #[doc = $en]
                $variant,
            )+
        }

        impl RuleCode {
            /// Every rule, in the order the API document lists them.
            pub const ALL: &'static [RuleCode] = &[$(RuleCode::$variant),+];

            /// The code on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(RuleCode::$variant => $code,)+
                }
            }

            /// What the rule says, in Vietnamese.
            pub fn message_vi(self) -> &'static str {
                match self {
                    $(RuleCode::$variant => $vi,)+
                }
            }

            /// What the rule says, in English.
            pub fn message_en(self) -> &'static str {
                match self {
                    $(RuleCode::$variant => $en,)+
                }
            }
        }
    };
}

rule_codes! {
    CredentialsTwice => "credentials_twice",
        "Gửi thông tin xác thực ứng dụng qua Authorization: Basic hoặc trong nội dung, không cả hai.",
        "Send the client credentials with Authorization: Basic or in the body, not both.";
    InvalidCitizenId => "invalid_citizen_id",
        "Số định danh cá nhân phải gồm đúng 12 chữ số, bắt đầu bằng mã tỉnh hợp lệ.",
        "A citizen ID number has exactly 12 digits starting with a valid province code.";
    InvalidTaxCode => "invalid_tax_code",
        "Mã số thuế gồm 10 chữ số (hoặc 10 chữ số, dấu gạch ngang và 3 chữ số đối với chi nhánh) với chữ số kiểm tra hợp lệ.",
        "A tax code has 10 digits (or 10 digits, a dash and 3 digits for a branch) with a valid check digit.";
    NotForOrganizations => "not_for_organizations",
        "Tổ chức không có thông tin này; chỉ cá nhân mới khai.",
        "Organisations have no such detail; only people give it.";
    PersonOrOrganization => "person_or_organization",
        "Người nộp là cá nhân (số định danh) hoặc tổ chức (mã số thuế), không phải cả hai.",
        "An applicant is a person (citizen ID number) or an organisation (tax code), not both.";
    CommittedExceedsRegulated => "committed_exceeds_regulated",
        "Thời hạn cam kết không được dài hơn thời hạn theo quy định.",
        "The committed time cannot exceed the regulated time.";
    NoOriginalNorCopy => "no_original_nor_copy",
        "Cần ít nhất một bản chính hoặc bản sao.",
        "At least one original or copy is needed.";
    PasswordOnlyDigits => "password_only_digits",
        "Mật khẩu không được chỉ gồm chữ số.",
        "The password cannot be digits only.";
    PasswordEqualsUsername => "password_equals_username",
        "Mật khẩu không được trùng tên đăng nhập.",
        "The password cannot equal the username.";
    ImplausibleDateOfBirth => "implausible_date_of_birth",
        "Ngày sinh không hợp lệ.",
        "Implausible date of birth.";
    UnknownAgency => "unknown_agency",
        "Không tìm thấy cơ quan có mã này.",
        "No agency has this code.";
    AgencyRequired => "agency_required",
        "Cần chỉ rõ cơ quan giải quyết.",
        "The handling agency must be given.";
    AgencyNotAllowed => "agency_not_allowed",
        "Vai trò này không thuộc cơ quan nào.",
        "This role does not belong to an agency.";
    CodeMismatch => "code_mismatch",
        "Mã trong nội dung khác mã trên đường dẫn.",
        "The code in the body differs from the one in the path.";
    RoleChangeNotAllowed => "role_change_not_allowed",
        "Không thể đổi vai trò của tài khoản công dân hoặc tài khoản tích hợp.",
        "Citizen and integration accounts cannot change role.";
    CannotLockYourself => "cannot_lock_yourself",
        "Không thể tự khóa hoặc tự bỏ quyền quản trị của mình.",
        "You cannot lock yourself or drop your own admin role.";
    UnknownProcedure => "unknown_procedure",
        "Không có thủ tục với mã này.",
        "No procedure has this code.";
    ProcedureAbolished => "procedure_abolished",
        "Thủ tục đã bị bãi bỏ.",
        "The procedure has been abolished.";
    OnlineNotOffered => "online_not_offered",
        "Thủ tục này không cung cấp dịch vụ công trực tuyến.",
        "This procedure is not offered online.";
    AgencyMismatch => "agency_mismatch",
        "Thủ tục này do cơ quan khác giải quyết.",
        "Another agency handles this procedure.";
    ApplicantIsYou => "applicant_is_you",
        "Công dân nộp hồ sơ cho chính mình; không ghi người nộp.",
        "Citizens file for themselves; leave the applicant out.";
    UnknownRequirement => "unknown_requirement",
        "Thủ tục không có thành phần hồ sơ này.",
        "The procedure has no such required document.";
    PaperNotOnline => "paper_not_online",
        "Hồ sơ trực tuyến không nhận bản giấy.",
        "Online dossiers take no paper documents.";
    PaperOrFile => "paper_or_file",
        "Chọn bản giấy hoặc tệp, không cả hai.",
        "Either paper or a file, not both.";
    NotReusable => "not_reusable",
        "Thành phần này không được dùng lại từ kho dữ liệu.",
        "This document cannot be reused from the store.";
    DocumentNotUsable => "document_not_usable",
        "Không dùng được tài liệu này.",
        "This document cannot be used here.";
    MissingDocument => "missing_document",
        "Thiếu thành phần hồ sơ bắt buộc.",
        "A required document is missing.";
    AuthorisationRequired => "authorisation_required",
        "Người đại diện phải nộp kèm giấy ủy quyền (văn bản ủy quyền).",
        "A representative files with the authorisation document attached.";
    AuthorisationExpired => "authorisation_expired",
        "Giấy ủy quyền đã hết hiệu lực.",
        "The authorisation has already expired.";
    RepresentativeIsApplicant => "representative_is_applicant",
        "Người đại diện phải khác người nộp hồ sơ được đại diện.",
        "The representative must be someone other than the applicant.";
    RepresentativeIsYou => "representative_is_you",
        "Công dân nộp thay người khác thì chính mình là người đại diện (số định danh của tài khoản).",
        "A citizen filing for someone else is the representative (the account's own ID number).";
    RepresentativeFor => "representative_for",
        "Nộp thay người khác thì ghi người nộp và người đại diện.",
        "Filing for someone else names both the applicant and the representative.";
    ContactWithoutRepresentative => "contact_without_representative",
        "Chỉ chọn người đại diện làm đầu mối liên hệ khi có người đại diện.",
        "The representative can be the contact only when one is named.";
    UnknownFee => "unknown_fee",
        "Không có khoản phí này.",
        "No such fee.";
    ReasonRequired => "reason_required",
        "Cần ghi rõ lý do.",
        "A reason is required.";
    NotInHandlingAgency => "not_in_handling_agency",
        "Không thuộc cơ quan đang giải quyết hồ sơ.",
        "Not part of the agency handling the dossier.";
    DeadlineInPast => "deadline_in_past",
        "Hạn bổ sung phải sau hôm nay.",
        "The deadline must be after today.";
    SameAgency => "same_agency",
        "Hồ sơ đang ở cơ quan này.",
        "The dossier is already at this agency.";
    ResultRequired => "result_required",
        "Cần tệp kết quả, hoặc ghi nhận kết quả bản giấy.",
        "Attach the result, or mark it as paper only.";
    NotAFutureWorkingDay => "not_a_future_working_day",
        "Ngày hẹn phải là ngày làm việc từ hôm nay trở đi.",
        "The appointment must be a working day from today on.";
    RequestedInFuture => "requested_in_future",
        "Thời điểm yêu cầu không được ở tương lai.",
        "The moment of the request cannot be in the future.";
    HolidayOnWeekend => "holiday_on_weekend",
        "Ngày nghỉ lễ chỉ đặt vào ngày thường (thứ Hai đến thứ Sáu).",
        "A holiday goes on a weekday (Monday to Friday).";
    WorkingOnWeekday => "working_on_weekday",
        "Ngày làm bù chỉ đặt vào thứ Bảy hoặc Chủ nhật.",
        "A make-up working day goes on a Saturday or Sunday.";
    AmountMismatch => "amount_mismatch",
        "Số tiền khác số phí còn phải nộp.",
        "The amount differs from the fees still due.";
    AmountNotPositive => "amount_not_positive",
        "Số tiền phải là số nguyên dương (đồng).",
        "The amount must be a positive whole number of đồng.";
    AmountTooLarge => "amount_too_large",
        "Số tiền quá lớn.",
        "The amount is too large.";
    InvalidType => "invalid_type",
        "Kiểu dữ liệu không đúng.",
        "Wrong data type.";
    UnknownField => "unknown_field",
        "Trường không được hỗ trợ.",
        "Unsupported field.";
    InvalidValue => "invalid_value",
        "Giá trị không hợp lệ.",
        "Invalid value.";
    InvalidDate => "invalid_date",
        "Ngày không hợp lệ (định dạng YYYY-MM-DD).",
        "Invalid date (format YYYY-MM-DD).";
    BeforeFrom => "before_from",
        "Ngày kết thúc không được trước ngày bắt đầu.",
        "The end date cannot be before the start date.";
    EmptyFile => "empty_file",
        "Tệp rỗng.",
        "The file is empty.";
    NotInSector => "not_in_sector",
        "Thủ tục không thuộc lĩnh vực này.",
        "The procedure is not in this sector.";
    PeriodOrDates => "period_or_dates",
        "Chọn kỳ báo cáo hoặc khoảng ngày, không cả hai.",
        "Give a period or a date range, not both.";
    RangeTooLong => "range_too_long",
        "Khoảng thời gian quá dài.",
        "The date range is too long.";
    StaffOnly => "staff_only",
        "Chỉ cán bộ được dùng tham số này.",
        "Only staff may use this parameter.";
    TooManyPoints => "too_many_points",
        "Quá nhiều điểm dữ liệu; chọn khoảng ngắn hơn hoặc bước lớn hơn.",
        "Too many data points; choose a shorter range or a coarser step.";
    UnknownSector => "unknown_sector",
        "Không có lĩnh vực với mã này.",
        "No sector has this code.";
    FormWrongType => "form_wrong_type",
        "Giá trị không đúng kiểu dữ liệu của trường này.",
        "The value has the wrong type for this field.";
    FormPattern => "form_pattern",
        "Giá trị không đúng định dạng quy định của trường này.",
        "The value does not match the pattern of this field.";
    FormBelowMinimum => "form_below_minimum",
        "Giá trị nhỏ hơn mức tối thiểu cho phép.",
        "The value is below the allowed minimum.";
    FormAboveMaximum => "form_above_maximum",
        "Giá trị lớn hơn mức tối đa cho phép.",
        "The value is above the allowed maximum.";
    FormTooFewItems => "form_too_few_items",
        "Danh sách có ít mục hơn mức tối thiểu.",
        "The list has fewer items than required.";
    FormTooManyItems => "form_too_many_items",
        "Danh sách có nhiều mục hơn mức tối đa.",
        "The list has more items than allowed.";
    FormUnknownField => "form_unknown_field",
        "Tờ khai không có trường này.",
        "The form has no such field.";
    FormInvalid => "form_invalid",
        "Giá trị không thỏa mãn điều kiện của tờ khai.",
        "The value does not meet the form's conditions.";
    FormNotOffered => "form_not_offered",
        "Thủ tục này chưa có tờ khai điện tử.",
        "This procedure has no e-form.";
    InvalidFormSchema => "invalid_form_schema",
        "Định nghĩa tờ khai không phải JSON Schema 2020-12 hợp lệ.",
        "The form definition is not a valid JSON Schema 2020-12.";
    UnknownPrefillSource => "unknown_prefill_source",
        "Nguồn điền sẵn không hợp lệ (dùng profile.<trường> hoặc dossier).",
        "Unknown pre-fill source (use profile.<field> or dossier).";
}

impl std::fmt::Display for RuleCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RuleCode {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RuleCode::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == s)
            .ok_or(())
    }
}

impl serde::Serialize for RuleCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::Problem;

    /// Codes of the generic problems, which no rule may shadow.
    const GENERIC: [&str; 7] = [
        "required",
        "too_short",
        "too_long",
        "out_of_range",
        "invalid_format",
        "not_allowed",
        "duplicate",
    ];

    #[test]
    fn every_rule_has_one_code_and_both_messages() {
        let mut seen = std::collections::HashSet::new();
        for rule in RuleCode::ALL {
            let code = rule.as_str();
            assert!(seen.insert(code), "{code} listed twice");
            assert!(
                !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
            assert!(!GENERIC.contains(&code), "{code} shadows a generic code");
            let (vi, en) = (rule.message_vi(), rule.message_en());
            assert!(!vi.is_empty() && !en.is_empty() && vi != en, "{code}");
            assert!(vi.ends_with('.') && en.ends_with('.'), "{code}");
            assert_eq!(code.parse::<RuleCode>(), Ok(*rule));
            assert_eq!(Problem::rule(*rule).code(), code);
            assert_eq!(
                serde_json::to_value(rule).ok(),
                Some(serde_json::json!(code))
            );
        }
        assert!("no_such_rule".parse::<RuleCode>().is_err());
    }

    #[test]
    fn rule_problems_serialise_as_before() {
        let problem = Problem::rule(RuleCode::UnknownAgency);
        assert_eq!(
            serde_json::to_value(&problem).ok(),
            Some(serde_json::json!({"code": "rule", "rule": "unknown_agency"}))
        );
    }
}
