//! Document uploads and downloads, and the citizen's document store.

use actix_multipart::Multipart;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, LOCATION};
use actix_web::{HttpResponse, get, post, web};
use futures_util::StreamExt;
use motcua_app::dossiers as workflow;
use motcua_domain::Role;
use motcua_domain::document::{ACCEPTED_TYPES, Document, DocumentKind, clean_file_name};
use motcua_domain::numeric::count_i64;
use motcua_domain::rule::RuleCode;
use motcua_domain::validation::Problem;
use motcua_persistence::repo::documents;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::AppState;

/// The form of an upload, for the contract.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file: PDF, JPEG or PNG (checked by content, not name); 20 MB at most by default.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// What the document is, e.g. `Văn bản đề nghị`. Defaults to the file name.
    pub title: Option<String>,
    /// `input` (default) or, for staff, `result`.
    pub kind: Option<DocumentKind>,
    /// For uploads to a dossier: the required document it meets (`D1`…).
    pub requirement: Option<String>,
}

/// A parsed upload, checked for size and type.
pub struct Upload {
    pub bytes: Vec<u8>,
    pub file_name: String,
    pub title: String,
    pub kind: Option<DocumentKind>,
    pub requirement: Option<String>,
    pub content_type: &'static str,
    pub sha256: String,
}

const TEXT_FIELD_LIMIT: usize = 1024;

async fn read_field(field: &mut actix_multipart::Field, limit: usize) -> ApiResult<Vec<u8>> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::new(ErrorCode::BadRequest).detail_same(e.to_string()))?;
        if bytes.len() + chunk.len() > limit {
            return Err(ApiError::new(ErrorCode::PayloadTooLarge).detail(
                format!("Tệp tối đa {limit} byte."),
                format!("Files are at most {limit} bytes."),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Reads a multipart upload: one `file` part plus optional text parts.
pub async fn read_upload(mut form: Multipart, max_file_bytes: usize) -> ApiResult<Upload> {
    let mut file: Option<(Vec<u8>, String)> = None;
    let (mut title, mut kind, mut requirement) = (None, None, None);
    while let Some(field) = form.next().await {
        let mut field =
            field.map_err(|e| ApiError::new(ErrorCode::BadRequest).detail_same(e.to_string()))?;
        let name = field.name().unwrap_or("").to_owned();
        match name.as_str() {
            "file" => {
                let file_name = field
                    .content_disposition()
                    .and_then(|cd| cd.get_filename())
                    .map(clean_file_name)
                    .unwrap_or_else(|| "document".to_owned());
                file = Some((read_field(&mut field, max_file_bytes).await?, file_name));
            }
            "title" | "kind" | "requirement" => {
                let bytes = read_field(&mut field, TEXT_FIELD_LIMIT).await?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| ApiError::field(&name, Problem::rule(RuleCode::InvalidValue)))?;
                if text.contains('\0') {
                    return Err(crate::extract::nul_error());
                }
                let text = motcua_domain::text::nfc(&text);
                match name.as_str() {
                    "title" => title = Some(text),
                    "requirement" => requirement = Some(text),
                    _ => {
                        kind = Some(text.parse::<DocumentKind>().map_err(|_| {
                            ApiError::field("kind", Problem::one_of(DocumentKind::NAMES))
                        })?)
                    }
                }
            }
            other => {
                return Err(ApiError::field(
                    other,
                    Problem::rule(RuleCode::UnknownField),
                ));
            }
        }
    }
    let Some((bytes, file_name)) = file else {
        return Err(ApiError::field("file", Problem::Required));
    };
    if bytes.is_empty() {
        return Err(ApiError::field("file", Problem::rule(RuleCode::EmptyFile)));
    }
    let sniffed = infer::get(&bytes).map(|t| t.mime_type());
    let Some(content_type) = ACCEPTED_TYPES.iter().copied().find(|t| Some(*t) == sniffed) else {
        return Err(ApiError::new(ErrorCode::UnsupportedMediaType).detail(
            "Chỉ nhận tệp PDF, JPEG hoặc PNG (kiểm tra theo nội dung tệp).",
            "Only PDF, JPEG or PNG files are accepted (checked by their content).",
        ));
    };
    let title = title
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| file_name.clone());
    if title.chars().count() > 300 {
        return Err(ApiError::field("title", Problem::TooLong { max: 300 }));
    }
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Ok(Upload {
        bytes,
        file_name,
        title,
        kind,
        requirement,
        content_type,
        sha256,
    })
}

fn caller_of(caller: &Caller) -> workflow::Principal {
    workflow::Principal {
        user_id: caller.user_id,
        role: caller.role,
        agency_id: caller.agency_id,
    }
}

/// Stores the file, then its row; the file is removed again if the row fails.
pub async fn store_upload(
    state: &AppState,
    caller: &Caller,
    upload: &Upload,
    kind: DocumentKind,
) -> ApiResult<Document> {
    let id = uuid::Uuid::new_v4().to_string();
    let files = state.files.clone();
    let (key, bytes) = (id.clone(), upload.bytes.clone());
    AppState::cpu(move || files.put(&key, &bytes))
        .await?
        .map_err(|e| ApiError::internal("store file", e))?;
    let who = caller_of(caller);
    let (title, file_name, content_type, sha) = (
        upload.title.clone(),
        upload.file_name.clone(),
        upload.content_type,
        upload.sha256.clone(),
    );
    let size = i64::try_from(upload.bytes.len()).unwrap_or(i64::MAX);
    let doc_id = id.clone();
    let now = state.clock.now();
    let inserted = state
        .db(move |conn| {
            let applicant_id = workflow::applicant_of(conn, who)?;
            Ok(documents::insert(
                conn,
                &documents::NewDocument {
                    id: &doc_id,
                    applicant_id,
                    uploaded_by: who.user_id,
                    kind,
                    title: &title,
                    file_name: &file_name,
                    content_type,
                    size_bytes: size,
                    sha256: &sha,
                },
                now,
            )?)
        })
        .await;
    if inserted.is_err() {
        let files = state.files.clone();
        let _ = AppState::cpu(move || files.delete(&id)).await;
    }
    inserted
}

/// The kind an upload may have: staff choose, everyone else uploads inputs.
pub fn kind_for(caller: &Caller, asked: Option<DocumentKind>) -> ApiResult<DocumentKind> {
    match asked {
        Some(DocumentKind::Result) if !caller.role.is_staff() => Err(ApiError::forbidden().detail(
            "Chỉ cán bộ được tải lên kết quả.",
            "Only staff upload results.",
        )),
        Some(kind) => Ok(kind),
        None => Ok(DocumentKind::Input),
    }
}

/// Uploads a document for a later dossier (multipart/form-data). Citizens'
/// uploads are theirs; a dossier cites it by id in `documents`.
#[utoipa::path(operation_id = "upload_document", 
    tag = "documents",
    security(("bearer" = [])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = Document),
        (status = 413, description = "File too large", body = crate::error::ProblemBody),
        (status = 415, description = "Not a PDF, JPEG or PNG", body = crate::error::ProblemBody),
    )
)]
#[post("/documents")]
pub async fn upload_document(
    state: web::Data<AppState>,
    caller: Caller,
    form: Multipart,
) -> ApiResult<HttpResponse> {
    let upload = read_upload(form, state.settings.uploads.max_file_bytes).await?;
    if upload.requirement.is_some() {
        return Err(ApiError::field(
            "requirement",
            Problem::rule(RuleCode::UnknownField),
        ));
    }
    let kind = kind_for(&caller, upload.kind)?;
    let doc = store_upload(&state, &caller, &upload, kind).await?;
    tracing::info!(document = %doc.id, size = doc.size_bytes, "document uploaded");
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/v1/documents/{}", doc.id)))
        .json(doc))
}

/// Downloads a document: its uploader, its applicant (results once returned),
/// staff of an agency that handles a dossier holding it, admins. Others get 404.
#[utoipa::path(operation_id = "download_document", 
    tag = "documents",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "The file, in the type it was stored as (uploads are PDF, JPEG or PNG)",
        content((Vec<u8> = "application/pdf"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "application/octet-stream")),
        headers(("Content-Disposition" = String))),
        (status = 404, body = crate::error::ProblemBody))
)]
#[get("/documents/{id}")]
pub async fn download(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(ApiError::not_found());
    }
    let who = caller_of(&caller);
    let (doc, key) = state
        .db(move |conn| {
            let doc = documents::get(conn, &id)?;
            if !workflow::may_read_document(conn, who, &doc)? {
                return Err(ApiError::not_found());
            }
            let key = documents::storage_key(conn, &doc.id)?;
            Ok((doc, key))
        })
        .await?;
    let files = state.files.clone();
    let bytes = AppState::cpu(move || files.get(&key))
        .await?
        .map_err(|e| ApiError::internal("read file", e))?;
    let encoded: String = doc
        .file_name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    Ok(HttpResponse::Ok()
        .content_type(doc.content_type.as_str())
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"document\"; filename*=UTF-8''{encoded}"),
        ))
        .insert_header((CACHE_CONTROL, "private, no-store"))
        .body(bytes))
}

/// The citizen's store: accepted documents and returned results, reusable in new dossiers.
#[utoipa::path(operation_id = "list_my_documents", tag = "documents", security(("bearer" = [])), responses((status = 200, body = crate::routes::PageView<Document>)))]
#[get("/me/documents")]
pub async fn mine(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Citizen])?;
    let who = caller_of(&caller);
    let docs = state
        .db(move |conn| {
            let viewer = workflow::viewer(conn, who)?;
            match viewer.applicant_id {
                Some(applicant) => {
                    let mut docs = documents::store_of(conn, applicant)?;
                    // Until verified, only what the account uploaded itself.
                    if viewer.identity != motcua_domain::access::IdentityStatus::Verified {
                        docs.retain(|d| d.uploaded_by == who.user_id);
                    }
                    Ok(docs)
                }
                None => Ok(Vec::new()),
            }
        })
        .await?;
    let total = count_i64(docs.len());
    Ok(HttpResponse::Ok().json(crate::routes::PageView {
        items: docs,
        page: 1,
        per_page: u32::try_from(total.max(1)).unwrap_or(u32::MAX),
        total,
    }))
}
