//! The two migration dialects agree with `schema.rs`: on a freshly migrated
//! database of each backend, every table `schema.rs` declares exists with
//! exactly its columns, each with the declared nullability and type family,
//! and no table or column exists that `schema.rs` does not know.
//!
//! SQLite has one integer storage class, so there `Integer` and `BigInt` are
//! one family; PostgreSQL keeps `integer` and `bigint` apart. A primary key
//! column counts as NOT NULL on both (SQL says so; diesel never writes NULL
//! into one).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};
use motcua_persistence::AnyConnection;
use motcua_persistence::testing::TestDb;

/// A column's type as far as the comparison cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Family {
    Integer,
    BigInt,
    /// SQLite's one integer storage class (`INTEGER`, `BIGINT`, …).
    AnyInteger,
    Text,
    Bool,
    Timestamp,
    TimestampTz,
    Date,
    Real,
    Binary,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    family: Family,
    nullable: bool,
    /// The type as written where it was read, for the message.
    written: String,
}

/// table → column → column
type Tables = BTreeMap<String, BTreeMap<String, Column>>;

/// Tables the migration tooling keeps for itself.
const TOOLING: [&str; 2] = ["__diesel_schema_migrations", "sqlite_sequence"];

/// The tables and columns `schema.rs` declares (its `diesel::table!` blocks).
fn declared() -> Tables {
    let source = include_str!("../src/schema.rs");
    let mut tables = Tables::new();
    let mut current: Option<String> = None;
    let mut expect_name = false;
    for line in source.lines().map(str::trim) {
        if line.starts_with("diesel::table!") {
            expect_name = true;
            continue;
        }
        if expect_name && !line.is_empty() && !line.starts_with('#') {
            let name = line.split([' ', '(']).next().unwrap_or_default().to_owned();
            assert!(!name.is_empty(), "schema.rs: no table name in {line:?}");
            tables.insert(name.clone(), BTreeMap::new());
            current = Some(name);
            expect_name = false;
            continue;
        }
        let Some(table) = &current else { continue };
        if line.starts_with('}') {
            current = None;
            continue;
        }
        let Some((name, ty)) = line.split_once("->") else {
            continue;
        };
        let name = name.trim().trim_start_matches("r#").to_owned();
        let ty = ty.trim().trim_end_matches(',').trim();
        let (inner, nullable) = match ty
            .strip_prefix("Nullable<")
            .and_then(|t| t.strip_suffix('>'))
        {
            Some(inner) => (inner, true),
            None => (ty, false),
        };
        let family = match inner {
            "Integer" | "Int4" => Family::Integer,
            "BigInt" | "Int8" => Family::BigInt,
            "Text" | "VarChar" => Family::Text,
            "Bool" => Family::Bool,
            "Timestamp" => Family::Timestamp,
            "Timestamptz" => Family::TimestampTz,
            "Date" => Family::Date,
            "Float" | "Double" => Family::Real,
            "Binary" => Family::Binary,
            _ => Family::Other,
        };
        tables.get_mut(table).unwrap().insert(
            name,
            Column {
                family,
                nullable,
                written: ty.to_owned(),
            },
        );
    }
    assert!(
        tables.len() > 10,
        "schema.rs parsed to {} tables",
        tables.len()
    );
    tables
}

#[derive(QueryableByName)]
struct Introspected {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Integer)]
    nullable: i32,
    #[diesel(sql_type = Integer)]
    primary_key: i32,
}

fn sqlite_family(written: &str) -> Family {
    let t = written.to_ascii_uppercase();
    match t.as_str() {
        "BOOLEAN" | "BOOL" => Family::Bool,
        "TIMESTAMP" | "DATETIME" => Family::Timestamp,
        "DATE" => Family::Date,
        _ if t.contains("INT") => Family::AnyInteger,
        _ if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") => Family::Text,
        _ if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") => Family::Real,
        "BLOB" => Family::Binary,
        _ => Family::Other,
    }
}

fn postgres_family(written: &str) -> Family {
    match written {
        "integer" | "smallint" => Family::Integer,
        "bigint" => Family::BigInt,
        "text" | "character varying" | "character" => Family::Text,
        "boolean" => Family::Bool,
        "timestamp without time zone" => Family::Timestamp,
        "timestamp with time zone" => Family::TimestampTz,
        "date" => Family::Date,
        "real" | "double precision" => Family::Real,
        "bytea" => Family::Binary,
        _ => Family::Other,
    }
}

/// The tables and columns a migrated database holds.
fn created(conn: &mut AnyConnection) -> Tables {
    let (rows, family): (Vec<Introspected>, fn(&str) -> Family) = match conn {
        AnyConnection::Sqlite(c) => (
            diesel::sql_query(
                "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type, \
                 CASE WHEN p.\"notnull\" = 0 THEN 1 ELSE 0 END AS nullable, \
                 CASE WHEN p.pk > 0 THEN 1 ELSE 0 END AS primary_key \
                 FROM sqlite_master m, pragma_table_info(m.name) p \
                 WHERE m.type = 'table' ORDER BY m.name, p.cid",
            )
            .load(c)
            .unwrap(),
            sqlite_family,
        ),
        AnyConnection::Postgresql(c) => (
            diesel::sql_query(
                "SELECT c.table_name::text AS table_name, c.column_name::text AS column_name, \
                 c.data_type::text AS data_type, \
                 CASE WHEN c.is_nullable = 'YES' THEN 1 ELSE 0 END AS nullable, \
                 CASE WHEN EXISTS (SELECT 1 FROM information_schema.key_column_usage k \
                   JOIN information_schema.table_constraints t \
                     ON t.constraint_name = k.constraint_name AND t.table_schema = k.table_schema \
                   WHERE t.constraint_type = 'PRIMARY KEY' AND k.table_schema = c.table_schema \
                     AND k.table_name = c.table_name AND k.column_name = c.column_name) \
                 THEN 1 ELSE 0 END AS primary_key \
                 FROM information_schema.columns c JOIN information_schema.tables tb \
                   ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name \
                 WHERE c.table_schema = 'public' AND tb.table_type = 'BASE TABLE' \
                 ORDER BY c.table_name, c.ordinal_position",
            )
            .load(c)
            .unwrap(),
            postgres_family,
        ),
    };
    let mut tables = Tables::new();
    for row in rows {
        if TOOLING.contains(&row.table_name.as_str()) {
            continue;
        }
        tables.entry(row.table_name).or_default().insert(
            row.column_name,
            Column {
                family: family(&row.data_type),
                nullable: row.nullable == 1 && row.primary_key == 0,
                written: row.data_type,
            },
        );
    }
    tables
}

fn families_agree(declared: Family, created: Family) -> bool {
    declared == created
        || (created == Family::AnyInteger && matches!(declared, Family::Integer | Family::BigInt))
}

/// Every disagreement between `schema.rs` and what `dialect` created, one line each.
fn disagreements(dialect: &str, declared: &Tables, created: &Tables) -> Vec<String> {
    let mut out = Vec::new();
    for (table, columns) in declared {
        let Some(made) = created.get(table) else {
            out.push(format!(
                "{dialect}: table {table} is in schema.rs but no migration creates it"
            ));
            continue;
        };
        for (name, want) in columns {
            let Some(got) = made.get(name) else {
                out.push(format!(
                    "{dialect}: {table}.{name} is in schema.rs ({}) but the migrations do not create it",
                    want.written
                ));
                continue;
            };
            if !families_agree(want.family, got.family) {
                out.push(format!(
                    "{dialect}: {table}.{name} is {} in schema.rs but {} in the migrations",
                    want.written, got.written
                ));
            }
            if want.nullable != got.nullable {
                out.push(format!(
                    "{dialect}: {table}.{name} is {} in schema.rs but {} in the migrations",
                    if want.nullable {
                        "Nullable"
                    } else {
                        "NOT NULL"
                    },
                    if got.nullable { "nullable" } else { "NOT NULL" },
                ));
            }
        }
        for name in made.keys().filter(|c| !columns.contains_key(*c)) {
            out.push(format!(
                "{dialect}: {table}.{name} is created by the migrations but missing from schema.rs"
            ));
        }
    }
    for table in created.keys().filter(|t| !declared.contains_key(*t)) {
        out.push(format!(
            "{dialect}: table {table} is created by the migrations but missing from schema.rs"
        ));
    }
    out
}

fn check(db: &TestDb, dialect: &str) {
    let mut conn = db.url.establish().unwrap();
    let created = created(&mut conn);
    let problems = disagreements(dialect, &declared(), &created);
    assert!(
        problems.is_empty(),
        "the {dialect} migrations disagree with crates/persistence/src/schema.rs:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn sqlite_migrations_create_what_schema_rs_declares() {
    check(&TestDb::sqlite(), "sqlite");
}

#[test]
fn postgres_migrations_create_what_schema_rs_declares() {
    let Some(db) = TestDb::postgres() else {
        eprintln!("skipped on postgres: MOTCUA_TEST_POSTGRES_URL is not set");
        return;
    };
    check(&db, "postgres");
}

/// The comparison itself notices each kind of disagreement and names it.
#[test]
fn each_kind_of_disagreement_is_named() {
    let column = |family, nullable, written: &str| Column {
        family,
        nullable,
        written: written.to_owned(),
    };
    let declared: Tables = [(
        "dossiers".to_owned(),
        [
            ("id".to_owned(), column(Family::BigInt, false, "BigInt")),
            (
                "note".to_owned(),
                column(Family::Text, true, "Nullable<Text>"),
            ),
            (
                "count".to_owned(),
                column(Family::Integer, false, "Integer"),
            ),
            ("gone".to_owned(), column(Family::Date, false, "Date")),
        ]
        .into(),
    )]
    .into();
    let mut created = declared.clone();
    let dossiers = created.get_mut("dossiers").unwrap();
    dossiers.get_mut("note").unwrap().nullable = false;
    *dossiers.get_mut("count").unwrap() = column(Family::BigInt, false, "bigint");
    dossiers.remove("gone");
    dossiers.insert("extra".into(), column(Family::Text, true, "text"));
    created.insert("stray".into(), BTreeMap::new());
    assert_eq!(
        disagreements("postgres", &declared, &created),
        [
            "postgres: dossiers.count is Integer in schema.rs but bigint in the migrations",
            "postgres: dossiers.gone is in schema.rs (Date) but the migrations do not create it",
            "postgres: dossiers.note is Nullable in schema.rs but NOT NULL in the migrations",
            "postgres: dossiers.extra is created by the migrations but missing from schema.rs",
            "postgres: table stray is created by the migrations but missing from schema.rs",
        ]
    );
    // SQLite's one integer class accepts either declared width.
    *created
        .get_mut("dossiers")
        .unwrap()
        .get_mut("count")
        .unwrap() = column(Family::AnyInteger, false, "BIGINT");
    assert!(
        !disagreements("sqlite", &declared, &created)
            .iter()
            .any(|p| p.contains("count"))
    );
}
