//! A paper as a simple printable HTML page, for screens.

use motcua_domain::papers::{Block, MOTTO, NATION, Paper};

pub(super) fn paper_html(p: &Paper) -> String {
    let e = |s: &str| html_escape::encode_text(s).into_owned();
    let mut body = String::new();
    for block in &p.blocks {
        match block {
            Block::Text(t) => body.push_str(&format!("<p>{}</p>\n", e(t))),
            Block::Field { label, value } => {
                body.push_str(&format!(
                    "<p>{}: <strong>{}</strong></p>\n",
                    e(label),
                    e(value)
                ));
            }
            Block::Table { columns, rows } => {
                body.push_str("<table><thead><tr>");
                for (title, _) in columns {
                    body.push_str(&format!("<th>{}</th>", e(title)));
                }
                body.push_str("</tr></thead><tbody>\n");
                for row in rows {
                    body.push_str("<tr>");
                    for cell in row {
                        body.push_str(&format!("<td>{}</td>", e(cell)));
                    }
                    body.push_str("</tr>\n");
                }
                body.push_str("</tbody></table>\n");
            }
        }
    }
    let mut signs = String::new();
    for s in &p.signatures {
        signs.push_str(&format!(
            "<div class=\"sign\"><strong>{}</strong><br><em>{}</em><br><br><br><strong>{}</strong></div>",
            e(&s.role),
            e(&s.hint),
            e(s.name.as_deref().unwrap_or(""))
        ));
    }
    format!(
        r#"<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>{title} {code}</title>
<style>body{{font-family:"Times New Roman",serif;max-width:800px;margin:2em auto;line-height:1.5}}
.head{{display:flex;justify-content:space-between;text-align:center}}h1{{font-size:1.3em;text-align:center}}
table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #000;padding:4px 6px;text-align:left}}
.signs{{display:flex;justify-content:space-around;text-align:center;margin-top:2em}}
@media print{{body{{margin:0}}}}</style></head>
<body>
<div class="head"><div><strong>{agency}</strong><br>{number}</div>
<div><strong>{nation}</strong><br><strong>{motto}</strong><br><em>{dated}</em></div></div>
<h1>{title}</h1>
{subtitle}<p style="text-align:center">Mã hồ sơ: <strong>{code}</strong></p>
{body}<div class="signs">{signs}</div>
<p>Tra cứu: {link}</p>
</body></html>
"#,
        title = e(&p.title),
        code = e(&p.code),
        agency = e(&p.agency),
        number = e(&p.number),
        nation = NATION,
        motto = MOTTO,
        dated = e(&p.dated),
        subtitle = p
            .subtitle
            .as_deref()
            .map(|s| format!("<p style=\"text-align:center\">{}</p>\n", e(s)))
            .unwrap_or_default(),
        link = e(&p.tracking_link),
    )
}
