//! The receipt slip as a printable Vietnamese HTML page.

use super::{Receipt, local};

pub(super) fn receipt_html(r: &Receipt) -> String {
    let e = |s: &str| html_escape::encode_text(s).into_owned();
    let mut rows = String::new();
    for (i, line) in r.documents.iter().enumerate() {
        let form = match line.form {
            "paper" => "Bản giấy",
            "reused" => "Dùng lại từ kho dữ liệu",
            _ => "Bản điện tử",
        };
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            i + 1,
            e(&line.name),
            line.originals,
            line.copies,
            form
        ));
    }
    let mut appointment = r
        .appointment_at
        .map(local)
        .unwrap_or_else(|| "—".to_owned());
    if r.appointment_provisional {
        appointment.push_str(
            " (dự kiến: lịch nghỉ lễ của năm chưa có thông báo chính thức, ngày hẹn có thể thay đổi)",
        );
    }
    format!(
        r#"<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Giấy tiếp nhận hồ sơ {code}</title>
<style>body{{font-family:"Times New Roman",serif;max-width:800px;margin:2em auto;line-height:1.5}}
h1{{font-size:1.3em;text-align:center;text-transform:uppercase}}table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #000;padding:4px 6px;text-align:left}}.muted{{color:#444}}
@media print{{body{{margin:0}}}}</style></head>
<body>
<p><strong>{agency}</strong><br><span class="muted">Mã cơ quan: {agency_code}</span>{intake}</p>
<p style="text-align:center"><strong>CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM</strong><br>Độc lập - Tự do - Hạnh phúc</p>
<h1>Giấy tiếp nhận hồ sơ và hẹn trả kết quả</h1>
<p>Mã hồ sơ: <strong>{code}</strong></p>
<p>Bộ phận tiếp nhận và trả kết quả đã tiếp nhận hồ sơ của: <strong>{applicant}</strong>{id}</p>
<p>Nội dung yêu cầu giải quyết: {procedure} (mã thủ tục {procedure_code})</p>
<p>Thành phần hồ sơ nộp gồm:</p>
<table><thead><tr><th>STT</th><th>Tên giấy tờ</th><th>Bản chính</th><th>Bản sao</th><th>Hình thức</th></tr></thead>
<tbody>
{rows}</tbody></table>
<p>Thời gian nhận hồ sơ: {received}</p>
<p>Thời gian trả kết quả giải quyết hồ sơ: <strong>{appointment}</strong></p>
<p>Phí, lệ phí: {fees}</p>
<p>Người tiếp nhận: {officer}</p>
<p class="muted">Tra cứu tình trạng hồ sơ với mã hồ sơ và {tracking} tại /api/v1/tracking/{code}.</p>
</body></html>
"#,
        tracking = match &r.tracking_pin {
            Some(pin) => format!("mã số thuế kèm mã tra cứu <strong>{}</strong>", e(pin)),
            None => "số định danh cá nhân".to_owned(),
        },
        code = e(&r.code),
        agency = e(&r.agency.name),
        agency_code = e(&r.agency.code),
        intake = match &r.received_at_agency {
            Some(point) => format!(
                "<br>Nơi tiếp nhận hồ sơ: <strong>{}</strong> <span class=\"muted\">(mã {})</span>",
                e(&point.name),
                e(&point.code)
            ),
            None => String::new(),
        },
        applicant = e(&r.applicant_name),
        id = match (&r.applicant_id_number, &r.applicant_tax_code) {
            (Some(n), _) => format!(" (số định danh {})", e(n)),
            (None, Some(code)) => format!(" (mã số thuế {})", e(code)),
            (None, None) => String::new(),
        },
        procedure = e(&r.procedure.name),
        procedure_code = e(&r.procedure.code),
        rows = rows,
        received = local(r.received_at),
        appointment = appointment,
        fees = if r.fees_due_vnd > 0 {
            motcua_domain::payment::format_vnd(r.fees_due_vnd)
        } else {
            "Không".to_owned()
        },
        officer = e(r.received_by.as_deref().unwrap_or("—")),
    )
}
