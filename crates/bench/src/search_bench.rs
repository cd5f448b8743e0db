//! `search-bench`: the catalog search's two ideas side by side (issue 12),
//! without HTTP: the in-memory index (`repo::catalog_index`) against the
//! database's own full-text indexes, as bare SQL, for the same queries.
//!
//! Fills a fresh database (demo catalog plus `--procedures` synthetic ones),
//! then for each method runs the query mix from 1 and from `--threads`
//! threads for `--seconds` each and prints ops/s, p50 and p95.
//!
//! Methods (each answers the total and the first page of 20 ids in the
//! API's order, the rank of `motcua_domain::search` written in SQL for the
//! database ones):
//! - `sql-list`: `procedures::list`, the path before the index (every
//!   candidate's text shipped to Rust and ranked) — ids and records;
//! - `index`: `CatalogIndex::search` (generation read plus memory);
//! - `index+rows`: `procedures::list_indexed`, what a request does;
//! - `like-scan`: the ranked SQL with `LIKE` only (no text index);
//! - PostgreSQL `tsvector`: a GIN index on `to_tsvector('simple', search_text)`;
//! - PostgreSQL `pg_trgm`: a GIN trigram index serving the `LIKE` patterns;
//! - SQLite `fts5`: an external-content FTS5 table over `search_text`.
//!
//! The database methods keep the `LIKE` patterns beside the text index's
//! condition, so they return exactly the index's results; a test of that is
//! the first thing this program does per query.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use diesel::sql_types::BigInt;
use motcua_app::settings::Secret;
use motcua_app::{App, Settings};
use motcua_domain::page::PageRequest;
use motcua_domain::search::SearchQuery;
use motcua_persistence::repo::catalog_index::CatalogIndex;
use motcua_persistence::repo::procedures::{self, ProcedureFilter};
use motcua_persistence::{AnyConnection, Pool};

#[derive(Parser)]
#[command(
    name = "search-bench",
    about = "Catalog search: in-memory index against database text indexes"
)]
struct Args {
    /// `sqlite` or `postgres`.
    #[arg(long, default_value = "sqlite")]
    backend: String,
    /// Seconds per method and thread count.
    #[arg(long, default_value_t = 3)]
    seconds: u64,
    /// The concurrent run's threads (each with its own connection).
    #[arg(long, default_value_t = 32)]
    threads: usize,
    /// Synthetic procedures beside the demo catalog.
    #[arg(long, default_value_t = 5_000)]
    procedures: u32,
    /// Only these methods (comma-separated names as printed).
    #[arg(long)]
    only: Option<String>,
    /// Also time each query alone (one thread, median of 200 runs).
    #[arg(long)]
    per_query: bool,
    #[arg(
        long,
        env = "MOTCUA_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
    #[arg(long, default_value = "target/bench")]
    dir: String,
}

/// The API bench's eight words, a query every synthetic procedure matches,
/// a selective one, a code, and the listing without a query.
const QUERIES: [&str; 12] = [
    "kinh doanh",
    "giay phep",
    "dang ky",
    "cap lai",
    "xay dung",
    "du lich",
    "van hoa",
    "thanh lap",
    "thu tuc mo phong",
    "mo phong so 123",
    "1.001029",
    "",
];

const PAGE: i64 = 20;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    SqlList,
    Index,
    IndexRows,
    LikeScan,
    TsVector,
    Trigram,
    Fts5,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::SqlList => "sql-list",
            Method::Index => "index",
            Method::IndexRows => "index+rows",
            Method::LikeScan => "like-scan",
            Method::TsVector => "tsvector",
            Method::Trigram => "pg_trgm",
            Method::Fts5 => "fts5",
        }
    }
}

#[derive(diesel::QueryableByName)]
struct Hit {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// A folded term as an SQL string literal's content (terms hold letters,
/// digits and dots; quotes are doubled anyway).
fn lit(text: &str) -> String {
    text.replace('\'', "''")
}

/// The rank of `motcua_domain::search::rank` as SQL, then the API's order;
/// `text_condition` is the text index's part of the `WHERE`.
fn ranked_sql(query: &SearchQuery, postgres: bool, text_condition: &str) -> String {
    let phrase = lit(&query.phrase);
    let bytes = if postgres {
        "octet_length(name_folded)"
    } else {
        "length(CAST(name_folded AS BLOB))"
    };
    let find = |needle: &str| {
        if postgres {
            format!("strpos(name_folded, '{needle}')")
        } else {
            format!("instr(name_folded, '{needle}')")
        }
    };
    let like: Vec<String> = query
        .like_patterns()
        .iter()
        .map(|p| format!("search_text LIKE '{}'", lit(p)))
        .collect();
    let in_name: Vec<String> = query
        .like_patterns()
        .iter()
        .map(|p| format!("(' ' || name_folded || ' ') LIKE '{}'", lit(p)))
        .collect();
    let code = match query.terms.as_slice() {
        [only] => format!("WHEN code = '{}' THEN 0", lit(only)),
        _ => String::new(),
    };
    let tier = format!(
        "CASE {code} WHEN name_folded LIKE '{phrase}%' THEN 1 WHEN {} > 0 THEN 2 WHEN {} THEN 3 ELSE 4 END",
        find(&format!(" {phrase}")),
        in_name.join(" AND ")
    );
    let position = format!(
        "CASE WHEN tier <= 1 THEN 0 WHEN tier = 2 THEN {} ELSE name_bytes END",
        find(&format!(" {phrase}"))
    );
    format!(
        "SELECT id, total FROM (SELECT id, name_folded, {tier} AS tier, {bytes} AS name_bytes, \
         COUNT(*) OVER () AS total FROM procedures WHERE status = 'active' AND {} {text_condition}) m \
         ORDER BY tier, {position}, name_bytes, name_folded, id LIMIT {PAGE}",
        like.join(" AND ")
    )
}

fn text_condition(method: Method, query: &SearchQuery) -> String {
    let Some((last, whole)) = query.terms.split_last() else {
        return String::new();
    };
    match method {
        Method::TsVector => {
            let mut parts: Vec<String> = whole.iter().map(|t| lit(t)).collect();
            parts.push(format!("{}:*", lit(last)));
            format!(
                "AND to_tsvector('simple', search_text) @@ to_tsquery('simple', '{}')",
                parts.join(" & ")
            )
        }
        Method::Fts5 => {
            let mut parts: Vec<String> = whole.iter().map(|t| format!("\"{}\"", lit(t))).collect();
            parts.push(format!("\"{}\"*", lit(last)));
            format!(
                "AND id IN (SELECT rowid FROM bench_procedures_fts WHERE bench_procedures_fts MATCH '{}')",
                parts.join(" AND ")
            )
        }
        _ => String::new(),
    }
}

/// The listing without a query, in SQL: by folded name and code.
fn listing_sql() -> String {
    format!(
        "SELECT id, COUNT(*) OVER () AS total FROM procedures WHERE status = 'active' \
         ORDER BY name_folded, code LIMIT {PAGE}"
    )
}

fn raw(conn: &mut AnyConnection, sql: &str) -> anyhow::Result<(Vec<i64>, i64)> {
    let hits: Vec<Hit> = match conn {
        AnyConnection::Postgresql(c) => diesel::sql_query(sql).load(c)?,
        AnyConnection::Sqlite(c) => diesel::sql_query(sql).load(c)?,
    };
    let total = hits.first().map_or(0, |h| h.total);
    Ok((hits.into_iter().map(|h| h.id).collect(), total))
}

/// One search by `method`: the first page's ids and the total.
fn search(
    method: Method,
    conn: &mut AnyConnection,
    index: &CatalogIndex,
    raw_query: &str,
) -> anyhow::Result<(Vec<i64>, i64)> {
    let query = SearchQuery::parse(raw_query);
    let filter = ProcedureFilter {
        query: query.clone(),
        ..ProcedureFilter::default()
    };
    let page = PageRequest::default();
    let ids_of = |p: motcua_domain::page::Page<motcua_domain::procedure::ProcedureRecord>| {
        (p.items.iter().map(|r| r.id).collect(), p.total)
    };
    Ok(match method {
        Method::SqlList => ids_of(procedures::list(conn, &filter, page)?),
        Method::IndexRows => ids_of(procedures::list_indexed(conn, index, &filter, page)?),
        Method::Index => index.search(conn, &filter, 0, page.per_page as usize)?,
        _ => {
            let postgres = matches!(conn, AnyConnection::Postgresql(_));
            let sql = match &query {
                Some(q) => ranked_sql(q, postgres, &text_condition(method, q)),
                None => listing_sql(),
            };
            raw(conn, &sql)?
        }
    })
}

/// Creates the text index `method` reads (and drops the others).
fn prepare(conn: &mut AnyConnection, method: Method) -> anyhow::Result<()> {
    let sql = match (method, &*conn) {
        (Method::TsVector, AnyConnection::Postgresql(_)) => {
            "DROP INDEX IF EXISTS bench_procedures_trgm; \
             CREATE INDEX IF NOT EXISTS bench_procedures_tsv ON procedures \
             USING gin (to_tsvector('simple', search_text)); ANALYZE procedures;"
        }
        (Method::Trigram, AnyConnection::Postgresql(_)) => {
            "DROP INDEX IF EXISTS bench_procedures_tsv; CREATE EXTENSION IF NOT EXISTS pg_trgm; \
             CREATE INDEX IF NOT EXISTS bench_procedures_trgm ON procedures \
             USING gin (search_text gin_trgm_ops); ANALYZE procedures;"
        }
        (Method::Fts5, AnyConnection::Sqlite(_)) => {
            "CREATE VIRTUAL TABLE IF NOT EXISTS bench_procedures_fts USING fts5(search_text, \
             content='procedures', content_rowid='id', tokenize=\"unicode61 tokenchars '.'\"); \
             INSERT INTO bench_procedures_fts(bench_procedures_fts) VALUES ('rebuild');"
        }
        (_, AnyConnection::Postgresql(_)) => {
            "DROP INDEX IF EXISTS bench_procedures_trgm; DROP INDEX IF EXISTS bench_procedures_tsv;"
        }
        _ => "",
    };
    match conn {
        AnyConnection::Postgresql(c) => c.batch_execute(sql)?,
        AnyConnection::Sqlite(c) => c.batch_execute(sql)?,
    }
    Ok(())
}

/// The latency below which `per_mille` of the sorted samples fall, in ms.
fn percentile(sorted: &[Duration], per_mille: usize) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (sorted.len() * per_mille).div_ceil(1000);
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

/// `threads` threads run the query mix for `seconds`; prints one line.
fn run(pool: &Pool, method: Method, threads: usize, seconds: u64) -> anyhow::Result<()> {
    let index = CatalogIndex::new();
    let next = AtomicUsize::new(0);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut latencies: Vec<Duration> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<Vec<Duration>> {
                    let mut conn = pool.get()?;
                    let mut mine = Vec::new();
                    while Instant::now() < deadline {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let at = Instant::now();
                        search(method, &mut conn, &index, QUERIES[i % QUERIES.len()])?;
                        mine.push(at.elapsed());
                    }
                    Ok(mine)
                })
            })
            .collect();
        let mut all = Vec::new();
        for handle in handles {
            let mine = handle
                .join()
                .map_err(|_| anyhow::anyhow!("a bench thread panicked"))??;
            all.extend(mine);
        }
        Ok::<_, anyhow::Error>(all)
    })?;
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    println!(
        "| {:<10} | {:>7} | {:>9.0} | {:>8.2} | {:>8.2} | {:>8.2} |",
        method.name(),
        threads,
        latencies.len() as f64 / elapsed,
        percentile(&latencies, 500),
        percentile(&latencies, 950),
        percentile(&latencies, 990),
    );
    Ok(())
}

/// Median time of each query alone, one thread, in ms.
fn per_query(conn: &mut AnyConnection, method: Method) -> anyhow::Result<()> {
    let index = CatalogIndex::new();
    for q in QUERIES {
        let (_, total) = search(method, conn, &index, q)?;
        let mut times: Vec<Duration> = Vec::with_capacity(200);
        for _ in 0..200 {
            let at = Instant::now();
            search(method, conn, &index, q)?;
            times.push(at.elapsed());
        }
        times.sort_unstable();
        println!(
            "  {:<10} {q:>18?}: {total:>5} matches, median {:.3} ms, p90 {:.3} ms",
            method.name(),
            percentile(&times, 500),
            percentile(&times, 900)
        );
    }
    Ok(())
}

fn database_url(args: &Args) -> anyhow::Result<String> {
    Ok(match args.backend.as_str() {
        "sqlite" => {
            let path = std::path::Path::new(&args.dir).join("search-bench.db");
            for suffix in ["", "-wal", "-shm"] {
                let file = format!("{}{suffix}", path.display());
                if std::path::Path::new(&file).exists() {
                    std::fs::remove_file(&file)?;
                }
            }
            format!("sqlite://{}", path.display())
        }
        "postgres" => motcua_persistence::db::postgres_database(
            &args.postgres_url,
            "motcua_search_bench",
            true,
        )?,
        other => bail!("--backend must be sqlite or postgres, not {other}"),
    })
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir))?;
    let mut settings = Settings::default();
    settings.database.url = Secret::new(database_url(&args)?);
    settings.data_dir = args.dir.clone();
    settings.demo = Some(true);
    settings.database.pool_size = u32::try_from(args.threads + 2).unwrap_or(34);
    settings.payments.jobs_interval_secs = 0;
    settings.auth.jwt_secret = Some(Secret::new("search-bench-secret-search-bench-secret-42"));
    let app = App::build(settings.clone())?;
    let pool = app.pool.clone();
    {
        let mut c = pool.get()?;
        motcua::seed::official_calendar(&mut c, app.clock.now())?;
        motcua::seed_if_empty(&mut c, true, app.clock.now())?
            .context("the fresh database was not empty")?;
    }
    motcua::generate(&settings, &pool, 1, args.procedures, 1, 1)?;
    let mut conn = pool.get()?;
    let catalog = procedures::count(&mut conn)?;
    let built = Instant::now();
    CatalogIndex::new().search(&mut conn, &ProcedureFilter::default(), 0, 1)?;
    println!(
        "search-bench: {}, {catalog} procedures; index built in {:.1} ms; {} s per line",
        args.backend,
        built.elapsed().as_secs_f64() * 1000.0,
        args.seconds
    );
    let mut methods = vec![
        Method::SqlList,
        Method::Index,
        Method::IndexRows,
        Method::LikeScan,
    ];
    match &*conn {
        AnyConnection::Postgresql(_) => methods.extend([Method::TsVector, Method::Trigram]),
        AnyConnection::Sqlite(_) => methods.push(Method::Fts5),
    }
    if let Some(only) = &args.only {
        methods.retain(|m| only.split(',').any(|o| o == m.name()));
    }
    println!("| method     | threads |     ops/s |   p50 ms |   p95 ms |   p99 ms |");
    println!("|------------|---------|-----------|----------|----------|----------|");
    let index = CatalogIndex::new();
    for method in methods {
        prepare(&mut conn, method)?;
        // The same answers as the index, query by query.
        for q in QUERIES {
            let want = search(Method::Index, &mut conn, &index, q)?;
            let got = search(method, &mut conn, &index, q)?;
            if got != want {
                bail!(
                    "{} disagrees with the index on {q:?}: {got:?} vs {want:?}",
                    method.name()
                );
            }
        }
        if args.per_query {
            per_query(&mut conn, method)?;
        }
        for threads in [1, args.threads] {
            run(&pool, method, threads, args.seconds)?;
        }
    }
    prepare(&mut conn, Method::Index)?;
    Ok(())
}
