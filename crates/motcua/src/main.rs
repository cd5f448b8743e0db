//! `motcua`: the one-stop shop server and its administration commands.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "motcua",
    version,
    about = "One-stop shop backend for Vietnamese public administration"
)]
struct Cli {
    /// Configuration file (TOML); `motcua.toml` is read when present.
    #[arg(long, global = true, env = "MOTCUA_CONFIG")]
    config: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate, seed an empty database, and serve the API.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long)]
        bind: Option<String>,
        /// postgres://… or sqlite://path; wins over DATABASE_URL and the config file.
        #[arg(long)]
        database_url: Option<String>,
        /// Do not seed demo agencies, accounts and the catalog.
        #[arg(long)]
        no_demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Create an administrator; the password is read from standard input.
    CreateAdmin {
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long)]
        username: String,
        #[arg(long, default_value = "Quản trị hệ thống")]
        full_name: String,
        /// Read the password from standard input (the only way: never on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Import procedures from a JSON array or a CSV file: all rows or none.
    ImportCatalog {
        file: String,
        #[arg(long)]
        database_url: Option<String>,
        /// Agency code for rows without one (default: the department).
        #[arg(long)]
        agency: Option<String>,
    },
    /// Fill the database with realistic synthetic data (agencies, procedures,
    /// dossiers over years, documents, payments, ratings, queue tickets,
    /// feedback), then rebuild the KPI aggregates. For load tests, not production.
    Generate {
        #[arg(long)]
        database_url: Option<String>,
        /// How many dossiers to add.
        #[arg(long, default_value_t = 10_000)]
        dossiers: u64,
        /// How many synthetic procedures they are spread over.
        #[arg(long, default_value_t = 64)]
        procedures: u32,
        /// Years of history, up to today.
        #[arg(long, default_value_t = 5)]
        years: u32,
        /// The same seed gives the same data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Recompute every KPI aggregate from the stored dossiers (after changing past
    /// days of the calendar, or to check the kept figures).
    RebuildKpi {
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Mark every dossier filed in a period (local days, both included)
    /// for pushing again to the national portal; the server's portal worker
    /// sends them on its next rounds.
    PortalResync {
        #[arg(long)]
        database_url: Option<String>,
        /// First day, e.g. 2026-11-01.
        #[arg(long)]
        from: chrono::NaiveDate,
        /// Last day, included.
        #[arg(long)]
        to: chrono::NaiveDate,
    },
    /// Print the OpenAPI document.
    Openapi,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The settings of a command working on the database, with logging set up
/// and the database connected (waiting up to 30 s for it).
fn connected(
    config: Option<&str>,
    database_url: Option<String>,
) -> anyhow::Result<(
    motcua_app::Settings,
    motcua_persistence::Pool,
    motcua_persistence::DatabaseUrl,
)> {
    let settings = motcua::settings(config, None, database_url)?;
    motcua::telemetry::init(&settings);
    let (pool, url) = motcua::connect(&settings, std::time::Duration::from_secs(30))?;
    Ok((settings, pool, url))
}

/// `import-catalog`: fails when any row is invalid (nothing is imported then).
fn import_catalog(
    config: Option<&str>,
    database_url: Option<String>,
    file: &str,
    agency: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let (_, pool, _) = connected(config, database_url)?;
    motcua::migrate(&pool)?;
    let report = motcua::import_catalog(&pool, file, agency)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    if report.applied {
        eprintln!(
            "imported: {} created, {} updated",
            report.created, report.updated
        );
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("nothing imported: {} invalid row(s)", report.invalid);
        Ok(ExitCode::FAILURE)
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = cli.config.as_deref();
    match cli.command {
        Command::Openapi => {
            print!("{}", motcua_http::openapi::document_json());
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            bind,
            database_url,
            no_demo,
        } => {
            let mut settings = motcua::settings(config, bind, database_url)?;
            if no_demo {
                settings.demo = Some(false);
            }
            let _log = motcua::telemetry::init_server(&settings);
            let runtime = actix_web::rt::System::new();
            runtime.block_on(motcua::serve(settings))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { database_url } => {
            let (_, pool, url) = connected(config, database_url)?;
            let applied = motcua::migrate(&pool)?;
            println!("{}: {} migration(s) applied", url.redacted(), applied.len());
            for name in applied {
                println!("  {name}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::CreateAdmin {
            database_url,
            username,
            full_name,
            password_stdin: _,
        } => {
            let (_, pool, _) = connected(config, database_url)?;
            motcua::migrate(&pool)?;
            let id =
                motcua::create_admin(&pool, &username, &full_name, &mut std::io::stdin().lock())?;
            println!("administrator {username} created (id {id})");
            Ok(ExitCode::SUCCESS)
        }
        Command::Generate {
            database_url,
            dossiers,
            procedures,
            years,
            seed,
        } => {
            let (settings, pool, url) = connected(config, database_url)?;
            motcua::migrate(&pool)?;
            if settings.is_production() {
                anyhow::bail!("generate refuses to run with environment = production");
            }
            eprintln!("generating {dossiers} dossiers into {}", url.redacted());
            let report = motcua::generate(&settings, &pool, dossiers, procedures, years, seed)?;
            println!("{report:#?}");
            Ok(ExitCode::SUCCESS)
        }
        Command::PortalResync {
            database_url,
            from,
            to,
        } => {
            if to < from {
                anyhow::bail!("--to must not be before --from");
            }
            let (settings, pool, url) = connected(config, database_url)?;
            motcua::migrate(&pool)?;
            let app = motcua_app::App::from_parts(
                settings,
                pool,
                url.backend(),
                motcua_app::Clock::system(),
            );
            let marked = app.portal_resync(from, to)?;
            println!("{marked} dossier(s) filed from {from} to {to} marked for the portal");
            Ok(ExitCode::SUCCESS)
        }
        Command::RebuildKpi { database_url } => {
            let (_, pool, _) = connected(config, database_url)?;
            motcua::migrate(&pool)?;
            let started = std::time::Instant::now();
            let report = motcua::rebuild_kpi(&pool)?;
            println!(
                "KPI aggregates rebuilt: {} dossiers, {} rows, {:.1} s",
                report.dossiers,
                report.rows,
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::ImportCatalog {
            file,
            database_url,
            agency,
        } => import_catalog(config, database_url, &file, agency.as_deref()),
    }
}
