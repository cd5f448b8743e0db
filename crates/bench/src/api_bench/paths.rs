//! The measured paths, one request each.

use std::sync::Arc;

use super::Ctx;
use serde_json::{Value, json};

/// A valid citizen ID number for the `i`th bench applicant.
pub(super) fn citizen_id(i: usize) -> String {
    format!("0012990{:05}", i % 100_000)
}

pub(super) async fn submit_one(ctx: Arc<Ctx>, i: usize) -> Option<bool> {
    let id = citizen_id(i);
    let body = json!({
        "procedure_code": "2.001584",
        "applicant": {"id_number": id, "full_name": format!("Người Nộp {i}")},
        "documents": [{"requirement": "D1", "paper": true},
                      {"requirement": "D2", "paper": true}],
    });
    let res = ctx
        .client
        .post(format!("{}/dossiers", ctx.base(i)))
        .bearer_auth(&ctx.token)
        .json(&body)
        .send()
        .await
        .ok()?;
    let ok = res.status() == 201;
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if let (true, Some(code), Ok(mut list)) = (ok, body["code"].as_str(), ctx.filed.lock()) {
        list.push((code.to_owned(), id));
    }
    Some(ok)
}

pub(super) async fn track_one(ctx: Arc<Ctx>, i: usize) -> Option<bool> {
    let tracked = ctx.tracked.get().filter(|t| !t.is_empty())?;
    let (code, id) = &tracked[i % tracked.len()];
    let res = ctx
        .client
        .get(format!("{}/tracking/{code}?id_number={id}", ctx.base(i)))
        .header(
            "x-forwarded-for",
            format!("10.{}.{}.{}", i >> 16 & 255, i >> 8 & 255, i & 255),
        )
        .send()
        .await
        .ok()?;
    let ok = res.status() == 200;
    res.bytes().await.ok()?;
    Some(ok)
}

pub(super) async fn receive_one(ctx: Arc<Ctx>, i: usize) -> Option<bool> {
    let code = ctx.to_receive.lock().ok()?.pop()?;
    let res = ctx
        .client
        .post(format!("{}/dossiers/{code}/actions", ctx.base(i)))
        .bearer_auth(&ctx.token)
        .header("if-match", "\"v1\"")
        .json(&json!({"action": "receive"}))
        .send()
        .await
        .ok()?;
    let ok = res.status() == 200;
    res.bytes().await.ok()?;
    Some(ok)
}

/// Catalog search: words of the catalog, accents folded.
pub(super) const WORDS: [&str; 8] = [
    "kinh doanh",
    "giay phep",
    "dang ky",
    "cap lai",
    "xay dung",
    "du lich",
    "van hoa",
    "thanh lap",
];

pub(super) async fn search_one(ctx: Arc<Ctx>, i: usize) -> Option<bool> {
    let res = ctx
        .client
        .get(format!("{}/procedures", ctx.base(i)))
        .query(&[("q", WORDS[i % WORDS.len()])])
        .send()
        .await
        .ok()?;
    let ok = res.status() == 200;
    res.bytes().await.ok()?;
    Some(ok)
}

pub(super) async fn list_one(ctx: Arc<Ctx>, i: usize) -> Option<bool> {
    let res = ctx
        .client
        .get(format!("{}/dossiers?per_page=50", ctx.base(i)))
        .bearer_auth(&ctx.token)
        .send()
        .await
        .ok()?;
    let ok = res.status() == 200;
    res.bytes().await.ok()?;
    Some(ok)
}
