//! Builders of the schemas the rules publish (`openapi` feature).

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, SchemaType, Type};

fn done(object: Object) -> RefOr<Schema> {
    RefOr::T(Schema::Object(object))
}

fn string(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .description(Some(description.trim()))
}

pub fn text(
    min: Option<usize>,
    max: u64,
    pattern: Option<&str>,
    description: &str,
) -> RefOr<Schema> {
    done(
        string(description)
            .min_length(min)
            .max_length(usize::try_from(max).ok())
            .pattern(pattern)
            .build(),
    )
}

pub fn integer(min: i64, max: i64, description: &str) -> RefOr<Schema> {
    done(
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Integer))
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Int64,
            )))
            .minimum(Some(min))
            .maximum(Some(max))
            .description(Some(description.trim()))
            .build(),
    )
}

pub fn pattern(
    pattern: String,
    max: Option<u64>,
    example: &str,
    description: &str,
) -> RefOr<Schema> {
    done(
        string(description)
            .pattern(Some(pattern))
            .max_length(max.and_then(|m| usize::try_from(m).ok()))
            .examples([example])
            .build(),
    )
}

/// `^(?:\s*|…)$`: the pattern, or blank (optional fields).
pub fn or_blank(pattern: &str) -> String {
    let inner = pattern.trim_start_matches('^').trim_end_matches('$');
    format!(r"^(\s*|{inner})$")
}
