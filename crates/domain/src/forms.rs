//! E-forms (tờ khai điện tử): a procedure's form definition — a JSON Schema
//! 2020-12 for the data plus presentation hints (Vietnamese labels, sections
//! in order, help text, where a field pre-fills from) — and the rules around
//! it: whether a definition may be saved, what is wrong with some form data
//! (one field problem per failing place, named by its JSON pointer in the
//! filing's body), what pre-fills, which filed values were reused, and which
//! fields a supplement request may point at.
//!
//! The schema is compiled with the `jsonschema` crate without its network and
//! file resolvers: a definition only refers to itself.

use jsonschema::error::ValidationErrorKind;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::rule::RuleCode;
use crate::validation::{FieldError, FieldErrors, Problem};

/// The body field that carries form data; the pointer of every form error
/// starts with it (`/form_data/venue/address`).
pub const FORM_DATA: &str = "/form_data";
/// The dialect every definition is written in.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";
/// The most fields a supplement request may point at.
pub const MAX_SUPPLEMENT_FIELDS: usize = 50;

/// A procedure's form: the declaration's title, the JSON Schema of its data
/// and how to present it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FormDefinition {
    /// The declaration's title, e.g. `Tờ khai đề nghị cấp giấy phép…`.
    pub title: String,
    /// JSON Schema (2020-12) of the form data: an object.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub schema: Value,
    /// The sections, in display order.
    pub sections: Vec<FormSection>,
}

/// A section of a form, with its fields in display order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FormSection {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    pub fields: Vec<FormField>,
}

/// How one field of the data is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FormField {
    /// JSON pointer of the field in the form data, e.g. `/event/title`.
    pub pointer: String,
    /// Label in Vietnamese.
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Where the value pre-fills from: `profile.<field>` (`full_name`,
    /// `id_number`, `tax_code`, `phone`, `email`, `address`,
    /// `date_of_birth`) or `dossier` (the same field of the applicant's
    /// latest earlier dossier for this procedure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill: Option<String>,
}

/// Where a pre-filled value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PrefillOrigin {
    /// The applicant's record.
    Profile,
    /// The applicant's latest earlier dossier for the procedure.
    Dossier,
}

/// A field of the applicant's record a form may pre-fill from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileField {
    FullName,
    IdNumber,
    TaxCode,
    Phone,
    Email,
    Address,
    DateOfBirth,
}

/// A `prefill` hint, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefillSource {
    Profile(ProfileField),
    Dossier,
}

impl PrefillSource {
    /// Reads a `prefill` hint; `None` when it names nothing known.
    pub fn parse(text: &str) -> Option<Self> {
        let field = match text.trim() {
            "dossier" => return Some(Self::Dossier),
            "profile.full_name" => ProfileField::FullName,
            "profile.id_number" => ProfileField::IdNumber,
            "profile.tax_code" => ProfileField::TaxCode,
            "profile.phone" => ProfileField::Phone,
            "profile.email" => ProfileField::Email,
            "profile.address" => ProfileField::Address,
            "profile.date_of_birth" => ProfileField::DateOfBirth,
            _ => return None,
        };
        Some(Self::Profile(field))
    }
}

/// What the applicant's record holds, for pre-filling.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub full_name: Option<String>,
    pub id_number: Option<String>,
    pub tax_code: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    /// `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
}

impl Profile {
    fn get(&self, field: ProfileField) -> Option<&str> {
        let value = match field {
            ProfileField::FullName => &self.full_name,
            ProfileField::IdNumber => &self.id_number,
            ProfileField::TaxCode => &self.tax_code,
            ProfileField::Phone => &self.phone,
            ProfileField::Email => &self.email,
            ProfileField::Address => &self.address,
            ProfileField::DateOfBirth => &self.date_of_birth,
        };
        value.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }
}

/// One value a form can pre-fill, with where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrefillValue {
    /// JSON pointer of the field in the form data.
    pub pointer: String,
    /// The value, of the field's type.
    pub value: Value,
    pub source: PrefillOrigin,
    /// The earlier dossier it was taken from (`source = dossier`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dossier_code: Option<String>,
}

/// A filed value equal to what pre-fill offered for its field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrefilledField {
    pub pointer: String,
    pub source: PrefillOrigin,
}

fn problem_at(field: impl Into<String>, problem: Problem) -> FieldError {
    FieldError {
        field: field.into(),
        problem,
    }
}

/// Checks a definition before it is saved: a title; a JSON Schema 2020-12
/// describing an object that compiles (no reference outside itself);
/// sections with labels; each field's pointer naming a property of the
/// schema, once; each pre-fill source known.
pub fn check_definition(form: &FormDefinition) -> Result<(), Vec<FieldError>> {
    let mut errors = FieldErrors::new();
    errors.text("title", &form.title, 300);
    let dialect_ok = form
        .schema
        .get("$schema")
        .is_none_or(|d| d.as_str() == Some(DIALECT));
    let object = form.schema.get("type").and_then(Value::as_str) == Some("object");
    if !dialect_ok || !object || compile(&form.schema).is_none() {
        errors.add("schema", Problem::rule(RuleCode::InvalidFormSchema));
    }
    if form.sections.is_empty() {
        errors.add("sections", Problem::Required);
    }
    let mut seen = Vec::new();
    for (i, section) in form.sections.iter().enumerate() {
        errors.text(&format!("sections[{i}].title"), &section.title, 300);
        for (j, field) in section.fields.iter().enumerate() {
            let at = format!("sections[{i}].fields[{j}]");
            errors.text(&format!("{at}.label"), &field.label, 300);
            if schema_at(&form.schema, &field.pointer).is_none() {
                errors.add(
                    format!("{at}.pointer"),
                    Problem::rule(RuleCode::FormUnknownField),
                );
            } else if seen.contains(&field.pointer.as_str()) {
                errors.add(format!("{at}.pointer"), Problem::Duplicate);
            }
            seen.push(field.pointer.as_str());
            if let Some(source) = &field.prefill
                && PrefillSource::parse(source).is_none()
            {
                errors.add(
                    format!("{at}.prefill"),
                    Problem::rule(RuleCode::UnknownPrefillSource),
                );
            }
        }
    }
    errors.into_result()
}

/// The schema compiled for 2020-12 with formats asserted; `None` when it is
/// not a schema the validator accepts.
fn compile(schema: &Value) -> Option<jsonschema::Validator> {
    if !jsonschema::draft202012::meta::is_valid(schema) {
        return None;
    }
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(schema)
        .ok()
}

/// What is wrong with some form data: one problem per failing place, its
/// field the JSON pointer in the filing's body (`/form_data/...`).
pub fn check_data(form: &FormDefinition, data: &Value) -> Result<(), Vec<FieldError>> {
    let Some(validator) = compile(&form.schema) else {
        return Err(vec![problem_at(
            FORM_DATA,
            Problem::rule(RuleCode::InvalidFormSchema),
        )]);
    };
    let mut errors: Vec<FieldError> = validator
        .iter_errors(data)
        .map(|e| {
            let (pointer, problem) = describe(e.instance_path().as_str(), e.kind());
            problem_at(format!("{FORM_DATA}{pointer}"), problem)
        })
        .collect();
    errors.dedup();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Escapes a property name as one JSON pointer segment.
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// An example of a format, as the message shows it.
fn format_example(format: &str) -> &str {
    match format {
        "date" => "2026-12-31",
        "date-time" => "2026-12-31T08:00:00+07:00",
        "time" => "08:00:00+07:00",
        "email" => "ten@example.vn",
        "uri" => "https://example.vn",
        other => other,
    }
}

/// Where a failure is (the pointer of the data it concerns: for a missing
/// property, the property's own) and which problem it is: the mapping of
/// the validator's keyword kinds onto the API's field problems.
pub fn describe(instance_path: &str, kind: &ValidationErrorKind) -> (String, Problem) {
    let rule = Problem::rule;
    let problem = match kind {
        ValidationErrorKind::Required { property } => {
            let name = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_owned);
            return (
                format!("{instance_path}/{}", escape(&name)),
                Problem::Required,
            );
        }
        ValidationErrorKind::Type { .. } => rule(RuleCode::FormWrongType),
        ValidationErrorKind::Format { format } => Problem::format(format_example(format)),
        ValidationErrorKind::Pattern { .. } => rule(RuleCode::FormPattern),
        ValidationErrorKind::MinLength { limit } => Problem::TooShort { min: *limit },
        ValidationErrorKind::MaxLength { limit } => Problem::TooLong { max: *limit },
        ValidationErrorKind::Minimum { .. } | ValidationErrorKind::ExclusiveMinimum { .. } => {
            rule(RuleCode::FormBelowMinimum)
        }
        ValidationErrorKind::Maximum { .. } | ValidationErrorKind::ExclusiveMaximum { .. } => {
            rule(RuleCode::FormAboveMaximum)
        }
        ValidationErrorKind::MinItems { .. } => rule(RuleCode::FormTooFewItems),
        ValidationErrorKind::MaxItems { .. } => rule(RuleCode::FormTooManyItems),
        ValidationErrorKind::Enum { options } => Problem::NotAllowed {
            allowed: options
                .as_array()
                .map(|all| all.iter().map(shown).collect())
                .unwrap_or_default(),
        },
        ValidationErrorKind::Constant { expected_value } => Problem::NotAllowed {
            allowed: vec![shown(expected_value)],
        },
        ValidationErrorKind::AdditionalProperties { .. }
        | ValidationErrorKind::UnevaluatedProperties { .. } => rule(RuleCode::FormUnknownField),
        _ => rule(RuleCode::FormInvalid),
    };
    (instance_path.to_owned(), problem)
}

/// A value as a message lists it: strings bare, the rest as JSON.
fn shown(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

/// The part of a schema that describes the data at `pointer`: through
/// `properties`, `items` (for array indices) and local `$ref`s.
pub fn schema_at<'a>(root: &'a Value, pointer: &str) -> Option<&'a Value> {
    let rest = pointer.strip_prefix('/')?;
    let mut node = resolve(root, root)?;
    for raw in rest.split('/') {
        let segment = raw.replace("~1", "/").replace("~0", "~");
        let next = node
            .get("properties")
            .and_then(|p| p.get(&segment))
            .or_else(|| {
                segment
                    .parse::<usize>()
                    .ok()
                    .and_then(|_| node.get("items"))
            })?;
        node = resolve(root, next)?;
    }
    Some(node)
}

/// Follows a local `$ref` (`#/$defs/...`), a few hops at most.
fn resolve<'a>(root: &'a Value, mut node: &'a Value) -> Option<&'a Value> {
    for _ in 0..8 {
        match node.get("$ref").and_then(Value::as_str) {
            Some(reference) => node = root.pointer(reference.strip_prefix('#')?)?,
            None => return Some(node),
        }
    }
    None
}

/// What pre-fills: for each field with a source, the applicant's record
/// or the same field of `earlier` (the code and form data of the
/// applicant's latest earlier dossier for the procedure), when it has a
/// value.
pub fn prefill(
    form: &FormDefinition,
    profile: &Profile,
    earlier: Option<(&str, &Value)>,
) -> Vec<PrefillValue> {
    let mut values = Vec::new();
    for field in form.sections.iter().flat_map(|s| &s.fields) {
        let Some(source) = field.prefill.as_deref().and_then(PrefillSource::parse) else {
            continue;
        };
        let found = match source {
            PrefillSource::Profile(f) => profile.get(f).map(|v| {
                (
                    Value::String(v.to_owned()),
                    PrefillOrigin::Profile,
                    None::<String>,
                )
            }),
            PrefillSource::Dossier => earlier.and_then(|(code, data)| {
                data.pointer(&field.pointer)
                    .filter(|v| meaningful(v))
                    .map(|v| (v.clone(), PrefillOrigin::Dossier, Some(code.to_owned())))
            }),
        };
        if let Some((value, source, dossier_code)) = found {
            values.push(PrefillValue {
                pointer: field.pointer.clone(),
                value,
                source,
                dossier_code,
            });
        }
    }
    values
}

/// A value worth counting as data: not null, not a blank text, not an
/// empty list or object, not a bare yes/no.
fn meaningful(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(_) => false,
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Number(_) => true,
    }
}

/// The pre-fill values assembled into one form-data object a client can
/// start from.
pub fn assemble(values: &[PrefillValue]) -> Value {
    let mut root = Value::Object(Map::new());
    for v in values {
        set(&mut root, &v.pointer, v.value.clone());
    }
    root
}

/// Sets the value at an object pointer, creating objects on the way; a
/// pointer through something that is not an object is left out.
fn set(root: &mut Value, pointer: &str, value: Value) {
    let Some(rest) = pointer.strip_prefix('/') else {
        return;
    };
    let segments: Vec<String> = rest
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    let Some((last, path)) = segments.split_last() else {
        return;
    };
    let mut node = root;
    for segment in path {
        let Some(object) = node.as_object_mut() else {
            return;
        };
        node = object
            .entry(segment.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if let Some(object) = node.as_object_mut() {
        object.insert(last.clone(), value);
    }
}

/// The filed values equal to what pre-fill offered for their fields (the
/// server compares; the client need not say what it pre-filled).
pub fn prefilled(data: &Value, offered: &[PrefillValue]) -> Vec<PrefilledField> {
    offered
        .iter()
        .filter(|o| meaningful(&o.value) && data.pointer(&o.pointer) == Some(&o.value))
        .map(|o| PrefilledField {
            pointer: o.pointer.clone(),
            source: o.source,
        })
        .collect()
}

/// A filing reuses data (the `d3_reuse` KPI) when some value came from an
/// earlier dossier: the applicant's record alone is identity, not reuse.
pub fn counts_as_reuse(fields: &[PrefilledField]) -> bool {
    fields.iter().any(|f| f.source == PrefillOrigin::Dossier)
}

/// The fields a supplement request points at, checked against the form the
/// dossier was filed with: each a pointer into its schema, at most
/// [`MAX_SUPPLEMENT_FIELDS`], repeats dropped.
pub fn check_supplement_fields(
    form: Option<&FormDefinition>,
    fields: &[String],
) -> Result<Vec<String>, Vec<FieldError>> {
    let Some(form) = form else {
        return Err(vec![problem_at(
            "fields",
            Problem::rule(RuleCode::FormNotOffered),
        )]);
    };
    if fields.len() > MAX_SUPPLEMENT_FIELDS {
        return Err(vec![problem_at(
            "fields",
            Problem::rule(RuleCode::FormTooManyItems),
        )]);
    }
    let mut errors = FieldErrors::new();
    let mut out: Vec<String> = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        let field = field.trim();
        if schema_at(&form.schema, field).is_none() {
            errors.add(
                format!("fields[{i}]"),
                Problem::rule(RuleCode::FormUnknownField),
            );
        } else if !out.iter().any(|f| f == field) {
            out.push(field.to_owned());
        }
    }
    errors.into_result().map(|()| out)
}

/// The fields of the form whose value differs between two revisions of a
/// dossier's form data (a correction sent with a supplement), in the form's
/// order; item templates (`/list/0/x`) count through their list.
pub fn changed(form: &FormDefinition, before: &Value, after: &Value) -> Vec<String> {
    form.sections
        .iter()
        .flat_map(|s| &s.fields)
        .filter(|f| !is_item_template(&f.pointer))
        .filter(|f| before.pointer(&f.pointer) != after.pointer(&f.pointer))
        .map(|f| f.pointer.clone())
        .collect()
}

/// A field that describes each item of a list (`/performers/0/name`): a
/// numeric segment in its pointer.
pub fn is_item_template(pointer: &str) -> bool {
    pointer
        .split('/')
        .skip(1)
        .any(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
#[path = "forms_tests.rs"]
mod tests;
