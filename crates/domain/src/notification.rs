//! Citizen notifications: which events tell the applicant, the built-in
//! Vietnamese template of each (per channel), the placeholder renderer, the
//! SMS length limit and the opt-out rule. Pure: the app loads the facts, this
//! module turns them into text.

use chrono::NaiveDate;

use crate::access::ContactChannel;
use crate::dossier::Channel as ResultChannel;
use crate::event::EventType;

crate::string_enum! {
    /// Where a notification goes.
    pub enum NotificationChannel {
        Sms => "sms",
        Email => "email",
    }
}

/// Short names inside this crate's users (the OpenAPI schemas keep the long ones).
pub use self::{NotificationChannel as Channel, NotificationStatus as Status};

impl From<ContactChannel> for Channel {
    fn from(channel: ContactChannel) -> Self {
        match channel {
            ContactChannel::Sms => Channel::Sms,
            ContactChannel::Email => Channel::Email,
        }
    }
}

impl From<Channel> for ContactChannel {
    fn from(channel: Channel) -> Self {
        match channel {
            Channel::Sms => ContactChannel::Sms,
            Channel::Email => ContactChannel::Email,
        }
    }
}

crate::string_enum! {
    /// Where a notification stands.
    pub enum NotificationStatus {
        /// Waiting for its (next) attempt.
        Queued => "queued",
        Sent => "sent",
        /// Given up after its last attempt.
        Failed => "failed",
        /// Not sent on purpose (the applicant opted out of the channel).
        Skipped => "skipped",
    }
}

/// Why a message is sent: opt-outs apply to notifications, never to the
/// one-time codes a citizen asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Notification,
    OneTimeCode,
}

/// Whether a message for `purpose` goes out on a channel the applicant has
/// (`true`) or has not opted out of.
pub fn may_send(purpose: Purpose, opted_out: bool) -> bool {
    match purpose {
        Purpose::OneTimeCode => true,
        Purpose::Notification => !opted_out,
    }
}

/// The longest wait between two attempts of one message.
pub const MAX_RETRY_WAIT_MS: u64 = 6 * 3600 * 1000;

/// After `attempts` failed attempts (1 for the first), how long to wait
/// before the next: `base_ms`, doubled each time, at most
/// [`MAX_RETRY_WAIT_MS`]; `None` once `max_attempts` were made (failed).
pub fn retry_after(attempts: u32, max_attempts: u32, base_ms: u64) -> Option<std::time::Duration> {
    if attempts >= max_attempts {
        return None;
    }
    let doubled = base_ms.saturating_mul(1_u64 << attempts.saturating_sub(1).min(40));
    Some(std::time::Duration::from_millis(
        doubled.min(MAX_RETRY_WAIT_MS),
    ))
}

/// The event types that notify the applicant, in the order docs list them.
pub const NOTIFYING: [EventType; 10] = [
    EventType::DossierReceived,
    EventType::DossierSupplementRequested,
    EventType::DossierResultIssued,
    EventType::DossierRefused,
    EventType::DossierCancelled,
    EventType::DossierApologised,
    EventType::PaymentCreated,
    EventType::PaymentPaid,
    EventType::PaymentRefunded,
    EventType::FeedbackAnswered,
];

/// Whether the event type notifies (the same set as
/// [`EventType::concerns_applicant`]).
pub fn notifies(event: EventType) -> bool {
    NOTIFYING.contains(&event)
}

/// Every placeholder a template may use, with what it stands for.
pub const PLACEHOLDERS: [(&str, &str); 14] = [
    ("applicant_name", "họ tên người nộp"),
    ("dossier_code", "mã hồ sơ"),
    ("procedure_name", "tên thủ tục"),
    ("agency_name", "cơ quan tiếp nhận"),
    ("appointment_date", "ngày hẹn trả kết quả, dd/mm/yyyy"),
    ("missing", "giấy tờ cần bổ sung"),
    ("supplement_deadline", "hạn bổ sung, dd/mm/yyyy"),
    ("collect", "cách nhận kết quả"),
    ("reason", "lý do (từ chối, hủy, xin lỗi)"),
    ("amount", "số tiền, ví dụ 1.500.000 đồng"),
    ("payment_id", "mã thanh toán"),
    ("tracking_code", "mã phản ánh, kiến nghị"),
    ("feedback_subject", "tiêu đề phản ánh, kiến nghị"),
    ("answer", "nội dung trả lời (đầu đoạn)"),
];

/// The facts a template is rendered with; what an event type lacks is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub applicant_name: Option<String>,
    pub dossier_code: Option<String>,
    pub procedure_name: Option<String>,
    pub agency_name: Option<String>,
    pub appointment_date: Option<NaiveDate>,
    pub missing: Vec<String>,
    pub supplement_deadline: Option<NaiveDate>,
    pub result_channel: Option<ResultChannel>,
    pub reason: Option<String>,
    pub amount_vnd: Option<i64>,
    pub payment_id: Option<String>,
    pub tracking_code: Option<String>,
    pub feedback_subject: Option<String>,
    pub answer: Option<String>,
}

/// `05/03/2027`.
pub fn format_date(day: NaiveDate) -> String {
    day.format("%d/%m/%Y").to_string()
}

/// `1.500.000 đồng` (dots between thousands, as written in Vietnam).
pub fn format_vnd(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(c);
    }
    let sign = if amount < 0 { "-" } else { "" };
    format!("{sign}{grouped} đồng")
}

/// How the applicant collects a result returned through `channel`.
pub fn how_to_collect(channel: ResultChannel) -> &'static str {
    match channel {
        ResultChannel::Counter => {
            "nhận trực tiếp tại Bộ phận Một cửa, mang theo giấy tiếp nhận và CCCD"
        }
        ResultChannel::Online => "tải kết quả điện tử trên Cổng dịch vụ công",
        ResultChannel::Postal => "kết quả được gửi qua bưu chính đến địa chỉ đã đăng ký",
    }
}

/// At most this many characters of a feedback answer in a message.
const ANSWER_CHARS: usize = 160;

impl Facts {
    /// The text of placeholder `name`: `Err(Unknown)` for a name outside
    /// [`PLACEHOLDERS`], `Ok(None)` when these facts lack it.
    fn value(&self, name: &str) -> Result<Option<String>, RenderError> {
        let text = |v: &Option<String>| v.clone();
        Ok(match name {
            "applicant_name" => text(&self.applicant_name),
            "dossier_code" => text(&self.dossier_code),
            "procedure_name" => text(&self.procedure_name),
            "agency_name" => text(&self.agency_name),
            "appointment_date" => self.appointment_date.map(format_date),
            "missing" => (!self.missing.is_empty()).then(|| self.missing.join("; ")),
            "supplement_deadline" => self.supplement_deadline.map(format_date),
            "collect" => self.result_channel.map(|c| how_to_collect(c).to_owned()),
            "reason" => text(&self.reason),
            "amount" => self.amount_vnd.map(format_vnd),
            "payment_id" => text(&self.payment_id),
            "tracking_code" => text(&self.tracking_code),
            "feedback_subject" => text(&self.feedback_subject),
            "answer" => self.answer.as_ref().map(|a| {
                let mut cut: String = a.chars().take(ANSWER_CHARS).collect();
                if a.chars().count() > ANSWER_CHARS {
                    cut.push('…');
                }
                cut
            }),
            other => return Err(RenderError::Unknown(other.to_owned())),
        })
    }
}

/// Why a template cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("unknown placeholder {{{{{0}}}}}")]
    Unknown(String),
    #[error("placeholder {{{{{0}}}}} has no value for this event")]
    Missing(String),
    #[error("a placeholder is not closed with }}}}")]
    Unclosed,
    #[error("the SMS is {0} segments long; at most {MAX_SMS_SEGMENTS} are allowed")]
    TooLong(usize),
    #[error("the template is empty")]
    Empty,
}

/// The placeholder names a template uses, in order; `Unclosed` for `{{` without `}}`.
pub fn placeholders(template: &str) -> Result<Vec<&str>, RenderError> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = rest.get(start + 2..).unwrap_or_default();
        let end = after.find("}}").ok_or(RenderError::Unclosed)?;
        names.push(after.get(..end).unwrap_or_default().trim());
        rest = after.get(end + 2..).unwrap_or_default();
    }
    Ok(names)
}

/// Replaces every `{{name}}` with its value; refuses unknown names and names
/// these facts have no value for.
pub fn render(template: &str, facts: &Facts) -> Result<String, RenderError> {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(rest.get(..start).unwrap_or_default());
        let after = rest.get(start + 2..).unwrap_or_default();
        let end = after.find("}}").ok_or(RenderError::Unclosed)?;
        let name = after.get(..end).unwrap_or_default().trim();
        let value = facts
            .value(name)?
            .ok_or_else(|| RenderError::Missing(name.to_owned()))?;
        out.push_str(&value);
        rest = after.get(end + 2..).unwrap_or_default();
    }
    out.push_str(rest);
    Ok(out)
}

/// An SMS may take at most this many segments.
pub const MAX_SMS_SEGMENTS: usize = 3;

/// Characters of the GSM 03.38 basic set (one septet each).
const GSM7: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// Characters of the GSM extension table (two septets each).
const GSM7_EXT: &str = "^{}\\[~]|€";

/// How many SMS segments `text` takes: GSM-7 (160, or 153 per part) when
/// every character is in the GSM set, UCS-2 otherwise (70, or 67 per part,
/// counted in UTF-16 units). Vietnamese with diacritics is UCS-2.
pub fn sms_segments(text: &str) -> usize {
    let gsm = text
        .chars()
        .all(|c| GSM7.contains(c) || GSM7_EXT.contains(c));
    let (units, single, part) = if gsm {
        let septets = text
            .chars()
            .map(|c| if GSM7_EXT.contains(c) { 2 } else { 1 })
            .sum::<usize>();
        (septets, 160, 153)
    } else {
        (text.encode_utf16().count(), 70, 67)
    };
    if units == 0 {
        0
    } else if units <= single {
        1
    } else {
        units.div_ceil(part)
    }
}

/// One template: an e-mail has a subject; an SMS has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub subject: Option<String>,
    pub body: String,
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: Option<String>,
    pub body: String,
}

/// Renders `template` for `channel`; an SMS longer than
/// [`MAX_SMS_SEGMENTS`] segments is refused.
pub fn render_message(
    channel: Channel,
    template: &Template,
    facts: &Facts,
) -> Result<Rendered, RenderError> {
    if template.body.trim().is_empty() {
        return Err(RenderError::Empty);
    }
    let body = render(&template.body, facts)?;
    let subject = match (&template.subject, channel) {
        (Some(subject), Channel::Email) => Some(render(subject, facts)?),
        (None, Channel::Email) => Some(String::from("Thông báo từ Bộ phận Một cửa")),
        (_, Channel::Sms) => None,
    };
    if channel == Channel::Sms {
        let segments = sms_segments(&body);
        if segments > MAX_SMS_SEGMENTS {
            return Err(RenderError::TooLong(segments));
        }
    }
    Ok(Rendered { subject, body })
}

/// Renders for sending: as [`render_message`], but an SMS that real data
/// made too long is cut (with `…`) to [`MAX_SMS_SEGMENTS`] segments rather
/// than not sent. Admin templates are checked against the sample data, so
/// only unusually long names get here.
pub fn render_to_send(
    channel: Channel,
    template: &Template,
    facts: &Facts,
) -> Result<Rendered, RenderError> {
    match render_message(channel, template, facts) {
        Err(RenderError::TooLong(_)) => {
            let body = render(&template.body, facts)?;
            Ok(Rendered {
                subject: None,
                body: fit_sms(&body),
            })
        }
        other => other,
    }
}

/// `text` cut to fit [`MAX_SMS_SEGMENTS`] segments, ending in `…` when cut.
pub fn fit_sms(text: &str) -> String {
    if sms_segments(text) <= MAX_SMS_SEGMENTS {
        return text.to_owned();
    }
    let mut cut: String = text.to_owned();
    while !cut.is_empty() && sms_segments(&format!("{cut}…")) > MAX_SMS_SEGMENTS {
        cut.pop();
    }
    format!("{}…", cut.trim_end())
}

/// Checks an admin's template against [`sample_facts`] of the event type:
/// every placeholder known and available for the type, the SMS short
/// enough. The error names the field at fault (`subject` or `body`).
pub fn check_template(
    event: EventType,
    channel: Channel,
    template: &Template,
) -> Result<Rendered, (&'static str, RenderError)> {
    let facts = sample_facts(event);
    if let (Some(subject), Channel::Email) = (&template.subject, channel) {
        render(subject, &facts).map_err(|e| ("subject", e))?;
    }
    render_message(channel, template, &facts).map_err(|e| ("body", e))
}

/// May this account change the applicant's opt-outs? Only one that proved
/// it is the applicant: a self-registered account could otherwise silence
/// someone else's notifications by claiming their ID number.
pub fn may_change_opt_outs(identity: crate::access::IdentityStatus) -> bool {
    identity == crate::access::IdentityStatus::Verified
}

const EMAIL_FOOTER: &str = "\n\nTra cứu tình trạng hồ sơ trên Cổng dịch vụ công hoặc gọi đường dây nóng của Bộ phận Một cửa.\nĐây là thư tự động, vui lòng không trả lời thư này.\n\nTrân trọng,\nBộ phận Tiếp nhận và Trả kết quả";

/// The built-in template of an event type and channel; `None` for a type
/// that does not notify.
pub fn default_template(event: EventType, channel: Channel) -> Option<Template> {
    let (sms, subject, email): (&str, &str, &str) = match event {
        EventType::DossierReceived => (
            "Hồ sơ {{dossier_code}} đã được tiếp nhận. Ngày hẹn trả kết quả: {{appointment_date}}. {{agency_name}}",
            "Hồ sơ {{dossier_code}} đã được tiếp nhận",
            "Kính gửi Ông/Bà {{applicant_name}},\n\n{{agency_name}} đã tiếp nhận hồ sơ {{dossier_code}} về thủ tục \"{{procedure_name}}\".\nNgày hẹn trả kết quả: {{appointment_date}}.",
        ),
        EventType::DossierSupplementRequested => (
            "Hồ sơ {{dossier_code}} cần bổ sung: {{missing}}. Hạn bổ sung: {{supplement_deadline}}. {{agency_name}}",
            "Hồ sơ {{dossier_code}} cần bổ sung giấy tờ",
            "Kính gửi Ông/Bà {{applicant_name}},\n\nHồ sơ {{dossier_code}} về thủ tục \"{{procedure_name}}\" cần bổ sung:\n{{missing}}\n\nĐề nghị Ông/Bà bổ sung trước ngày {{supplement_deadline}}. Thời gian giải quyết được tính lại từ khi nhận đủ giấy tờ bổ sung.",
        ),
        EventType::DossierResultIssued => (
            "Hồ sơ {{dossier_code}} đã có kết quả. Cách nhận: {{collect}}. {{agency_name}}",
            "Hồ sơ {{dossier_code}} đã có kết quả",
            "Kính gửi Ông/Bà {{applicant_name}},\n\nHồ sơ {{dossier_code}} về thủ tục \"{{procedure_name}}\" đã có kết quả.\nCách nhận kết quả: {{collect}}.",
        ),
        EventType::DossierRefused => (
            "Hồ sơ {{dossier_code}} không được tiếp nhận. Lý do: {{reason}}. {{agency_name}}",
            "Hồ sơ {{dossier_code}} không được tiếp nhận",
            "Kính gửi Ông/Bà {{applicant_name}},\n\n{{agency_name}} không tiếp nhận hồ sơ {{dossier_code}} về thủ tục \"{{procedure_name}}\".\nLý do: {{reason}}.",
        ),
        EventType::DossierCancelled => (
            "Hồ sơ {{dossier_code}} đã bị hủy. Lý do: {{reason}}. {{agency_name}}",
            "Hồ sơ {{dossier_code}} đã bị hủy",
            "Kính gửi Ông/Bà {{applicant_name}},\n\nHồ sơ {{dossier_code}} về thủ tục \"{{procedure_name}}\" đã bị hủy.\nLý do: {{reason}}.",
        ),
        EventType::DossierApologised => (
            "{{agency_name}} xin lỗi vì hồ sơ {{dossier_code}} bị trễ hẹn. Ngày hẹn mới: {{appointment_date}}.",
            "Thư xin lỗi: hồ sơ {{dossier_code}} trễ hẹn",
            "Kính gửi Ông/Bà {{applicant_name}},\n\n{{agency_name}} chân thành xin lỗi vì hồ sơ {{dossier_code}} về thủ tục \"{{procedure_name}}\" chưa được giải quyết đúng hẹn.\nLý do: {{reason}}.\nNgày hẹn trả kết quả mới: {{appointment_date}}.\n\nMong Ông/Bà thông cảm.",
        ),
        EventType::PaymentCreated => (
            "Hồ sơ {{dossier_code}}: vui lòng nộp phí, lệ phí {{amount}} (mã thanh toán {{payment_id}}) trên Cổng dịch vụ công.",
            "Hồ sơ {{dossier_code}}: đề nghị nộp phí, lệ phí",
            "Kính gửi Ông/Bà {{applicant_name}},\n\nHồ sơ {{dossier_code}} có khoản phí, lệ phí cần nộp: {{amount}}.\nMã thanh toán: {{payment_id}}.\nÔng/Bà có thể thanh toán trực tuyến trên Cổng dịch vụ công hoặc nộp tại Bộ phận Một cửa.",
        ),
        EventType::PaymentPaid => (
            "Đã nhận {{amount}} phí, lệ phí hồ sơ {{dossier_code}} (mã thanh toán {{payment_id}}). Cảm ơn Ông/Bà.",
            "Xác nhận thanh toán hồ sơ {{dossier_code}}",
            "Kính gửi Ông/Bà {{applicant_name}},\n\nChúng tôi đã nhận khoản thanh toán {{amount}} cho hồ sơ {{dossier_code}}.\nMã thanh toán: {{payment_id}}.\nBiên lai điện tử được lưu trong hồ sơ trên Cổng dịch vụ công.",
        ),
        EventType::PaymentRefunded => (
            "Khoản {{amount}} của hồ sơ {{dossier_code}} (mã thanh toán {{payment_id}}) đã được hoàn trả.",
            "Hoàn trả phí, lệ phí hồ sơ {{dossier_code}}",
            "Kính gửi Ông/Bà {{applicant_name}},\n\nKhoản thanh toán {{amount}} của hồ sơ {{dossier_code}} (mã thanh toán {{payment_id}}) đã được hoàn trả về tài khoản đã thanh toán.",
        ),
        EventType::FeedbackAnswered => (
            "Phản ánh {{tracking_code}} đã được trả lời. Xem nội dung trả lời trên Cổng dịch vụ công.",
            "Phản ánh, kiến nghị {{tracking_code}} đã được trả lời",
            "Kính gửi Ông/Bà,\n\nPhản ánh, kiến nghị {{tracking_code}} (\"{{feedback_subject}}\") đã được trả lời:\n\n{{answer}}\n\nNội dung đầy đủ có trên Cổng dịch vụ công.",
        ),
        _ => return None,
    };
    Some(match channel {
        Channel::Sms => Template {
            subject: None,
            body: sms.to_owned(),
        },
        Channel::Email => Template {
            subject: Some(subject.to_owned()),
            body: format!("{email}{EMAIL_FOOTER}"),
        },
    })
}

/// Realistic facts for an event type (the admin preview and the template
/// check): what an actual event of that type carries, nothing more.
pub fn sample_facts(event: EventType) -> Facts {
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
    let dossier = Facts {
        applicant_name: Some("Nguyễn Thị Bích Ngọc".into()),
        dossier_code: Some("000.00.17.H57-261207-0042".into()),
        procedure_name: Some("Đăng ký khai sinh".into()),
        agency_name: Some("UBND phường Phú Hội".into()),
        ..Facts::default()
    };
    match event {
        EventType::DossierReceived => Facts {
            appointment_date: day(2026, 12, 14),
            ..dossier
        },
        EventType::DossierSupplementRequested => Facts {
            missing: vec![
                "Bản sao Giấy chứng nhận kết hôn".into(),
                "Giấy chứng sinh (bản chính)".into(),
            ],
            supplement_deadline: day(2026, 12, 21),
            ..dossier
        },
        EventType::DossierResultIssued => Facts {
            result_channel: Some(ResultChannel::Counter),
            ..dossier
        },
        EventType::DossierRefused | EventType::DossierCancelled => Facts {
            reason: Some("Thủ tục không thuộc thẩm quyền giải quyết của phường".into()),
            ..dossier
        },
        EventType::DossierApologised => Facts {
            reason: Some("Cần xác minh thêm thông tin với cơ quan khác".into()),
            appointment_date: day(2026, 12, 18),
            ..dossier
        },
        EventType::PaymentCreated | EventType::PaymentPaid | EventType::PaymentRefunded => Facts {
            amount_vnd: Some(1_500_000),
            payment_id: Some("PAY-7F3K9Q".into()),
            ..dossier
        },
        EventType::FeedbackAnswered => Facts {
            tracking_code: Some("PA-2612-0007".into()),
            feedback_subject: Some("Thời gian chờ tại quầy quá lâu".into()),
            answer: Some(
                "UBND phường đã bố trí thêm một quầy tiếp nhận vào buổi sáng từ ngày 15/12/2026."
                    .into(),
            ),
            ..Facts::default()
        },
        _ => dossier,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notifying_types_are_those_that_concern_the_applicant() {
        for event in EventType::ALL {
            assert_eq!(notifies(*event), event.concerns_applicant(), "{event}");
            for channel in Channel::ALL {
                assert_eq!(
                    default_template(*event, *channel).is_some(),
                    notifies(*event),
                    "{event} {channel}"
                );
            }
        }
    }

    /// Every notifying type on every channel, rendered with real data: the
    /// Vietnamese text it must contain, and no placeholder left behind.
    #[test]
    fn every_notifying_type_renders_on_every_channel() {
        let cases: [(EventType, &[&str]); 10] = [
            (
                EventType::DossierReceived,
                &[
                    "000.00.17.H57-261207-0042",
                    "14/12/2026",
                    "Ngày hẹn trả kết quả",
                ],
            ),
            (
                EventType::DossierSupplementRequested,
                &[
                    "cần bổ sung",
                    "Bản sao Giấy chứng nhận kết hôn; Giấy chứng sinh (bản chính)",
                    "21/12/2026",
                ],
            ),
            (
                EventType::DossierResultIssued,
                &["đã có kết quả", "nhận trực tiếp tại Bộ phận Một cửa"],
            ),
            (
                EventType::DossierRefused,
                &["không được tiếp nhận", "không thuộc thẩm quyền"],
            ),
            (EventType::DossierCancelled, &["đã bị hủy", "Lý do"]),
            (EventType::DossierApologised, &["xin lỗi", "18/12/2026"]),
            (
                EventType::PaymentCreated,
                &["1.500.000 đồng", "PAY-7F3K9Q", "phí, lệ phí"],
            ),
            (EventType::PaymentPaid, &["1.500.000 đồng", "PAY-7F3K9Q"]),
            (EventType::PaymentRefunded, &["hoàn trả", "1.500.000 đồng"]),
            (
                EventType::FeedbackAnswered,
                &["PA-2612-0007", "đã được trả lời"],
            ),
        ];
        assert_eq!(cases.len(), NOTIFYING.len());
        for (event, expected) in cases {
            for channel in Channel::ALL {
                let template = default_template(event, *channel).unwrap();
                let rendered = render_message(*channel, &template, &sample_facts(event))
                    .unwrap_or_else(|e| panic!("{event} {channel}: {e}"));
                let all = format!(
                    "{}\n{}",
                    rendered.subject.clone().unwrap_or_default(),
                    rendered.body
                );
                for text in expected {
                    assert!(all.contains(text), "{event} {channel}: {text:?} in {all}");
                }
                assert!(!all.contains("{{"), "{event} {channel}: {all}");
                match channel {
                    Channel::Sms => {
                        assert!(rendered.subject.is_none());
                        assert!(sms_segments(&rendered.body) <= MAX_SMS_SEGMENTS);
                    }
                    Channel::Email => {
                        assert!(rendered.subject.is_some());
                        assert!(rendered.body.contains("Trân trọng"), "{event}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_renderer_refuses_unknown_missing_and_unclosed_placeholders() {
        let facts = sample_facts(EventType::DossierReceived);
        let cases = [
            (
                "Mã {{dossier_code}}",
                Ok("Mã 000.00.17.H57-261207-0042".to_owned()),
            ),
            (
                "{{ dossier_code }}!",
                Ok("000.00.17.H57-261207-0042!".to_owned()),
            ),
            ("không có chỗ trống", Ok("không có chỗ trống".to_owned())),
            ("{{ma_ho_so}}", Err(RenderError::Unknown("ma_ho_so".into()))),
            ("{{amount}}", Err(RenderError::Missing("amount".into()))),
            ("{{dossier_code", Err(RenderError::Unclosed)),
        ];
        for (template, expected) in cases {
            assert_eq!(render(template, &facts), expected, "{template}");
        }
        assert_eq!(placeholders("{{a}} và {{ b }}"), Ok(vec!["a", "b"]));
    }

    #[test]
    fn dates_and_amounts_are_written_the_vietnamese_way() {
        let cases = [
            (0, "0 đồng"),
            (500, "500 đồng"),
            (1_000, "1.000 đồng"),
            (1_500_000, "1.500.000 đồng"),
            (123_456_789, "123.456.789 đồng"),
        ];
        for (amount, text) in cases {
            assert_eq!(format_vnd(amount), text);
        }
        let day = NaiveDate::from_ymd_opt(2027, 3, 5).unwrap();
        assert_eq!(format_date(day), "05/03/2027");
    }

    #[test]
    fn sms_segments_count_gsm_and_ucs2() {
        let cases = [
            (String::new(), 0),
            ("a".repeat(160), 1),
            ("a".repeat(161), 2),
            ("a".repeat(306), 2),
            ("a".repeat(307), 3),
            ("[".repeat(80), 1),
            ("[".repeat(81), 2),
            ("ệ".repeat(70), 1),
            ("ệ".repeat(71), 2),
            ("ệ".repeat(201), 3),
            ("ệ".repeat(202), 4),
        ];
        for (text, segments) in cases {
            assert_eq!(
                sms_segments(&text),
                segments,
                "{} chars",
                text.chars().count()
            );
        }
        let long = Template {
            subject: None,
            body: "Hồ sơ ".repeat(40),
        };
        let facts = Facts::default();
        assert_eq!(
            render_message(Channel::Sms, &long, &facts),
            Err(RenderError::TooLong(4))
        );
        assert!(render_message(Channel::Email, &long, &facts).is_ok());
        let cut = render_to_send(Channel::Sms, &long, &facts).unwrap();
        assert_eq!(sms_segments(&cut.body), MAX_SMS_SEGMENTS);
        assert!(cut.body.starts_with("Hồ sơ Hồ sơ") && cut.body.ends_with('…'));
    }

    #[test]
    fn retries_back_off_then_give_up() {
        let ms = |n| Some(std::time::Duration::from_millis(n));
        let cases = [
            (1, 5, 1000, ms(1000)),
            (2, 5, 1000, ms(2000)),
            (4, 5, 1000, ms(8000)),
            (5, 5, 1000, None),
            (9, 5, 1000, None),
            (30, 99, 1000, ms(MAX_RETRY_WAIT_MS)),
            (1, 1, 1000, None),
        ];
        for (attempts, max, base, wait) in cases {
            assert_eq!(retry_after(attempts, max, base), wait, "{attempts}/{max}");
        }
    }

    #[test]
    fn opt_outs_stop_notifications_but_never_one_time_codes() {
        let cases = [
            (Purpose::Notification, false, true),
            (Purpose::Notification, true, false),
            (Purpose::OneTimeCode, false, true),
            (Purpose::OneTimeCode, true, true),
        ];
        for (purpose, opted_out, sent) in cases {
            assert_eq!(
                may_send(purpose, opted_out),
                sent,
                "{purpose:?} {opted_out}"
            );
        }
    }

    #[test]
    fn admin_templates_are_checked_against_the_event_type() {
        let ok = Template {
            subject: Some("Hồ sơ {{dossier_code}}".into()),
            body: "Hẹn {{appointment_date}}".into(),
        };
        assert!(check_template(EventType::DossierReceived, Channel::Email, &ok).is_ok());
        assert_eq!(
            check_template(EventType::FeedbackAnswered, Channel::Email, &ok),
            Err(("subject", RenderError::Missing("dossier_code".into())))
        );
        let bad_subject = Template {
            subject: Some("{{tieu_de}}".into()),
            body: "Hẹn {{appointment_date}}".into(),
        };
        assert_eq!(
            check_template(EventType::DossierReceived, Channel::Email, &bad_subject),
            Err(("subject", RenderError::Unknown("tieu_de".into())))
        );
        assert!(may_change_opt_outs(crate::access::IdentityStatus::Verified));
        assert!(!may_change_opt_outs(
            crate::access::IdentityStatus::Unverified
        ));
        let empty = Template {
            subject: None,
            body: "  ".into(),
        };
        assert_eq!(
            check_template(EventType::DossierReceived, Channel::Sms, &empty),
            Err(("body", RenderError::Empty))
        );
    }
}
