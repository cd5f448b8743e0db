use motcua_app::settings::{LogFormat, Settings};
use tracing_subscriber::EnvFilter;

/// Human-readable logs in development, JSON lines with `LOG_FORMAT=json`.
/// `RUST_LOG` overrides the configured level.
pub fn init(settings: &Settings) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match settings.log.format {
        LogFormat::Json => tracing::subscriber::set_global_default(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
        LogFormat::Human => tracing::subscriber::set_global_default(builder.finish()),
    };
    if let Err(e) = installed {
        eprintln!("logging already initialised: {e}");
        return;
    }
    // Libraries logging through `log` join in, except the HTTP client and TLS:
    // they write whole URLs, and gateway URLs carry signatures.
    if let Err(e) = tracing_log::LogTracer::builder()
        .ignore_crate("ureq")
        .ignore_crate("ureq_proto")
        .ignore_crate("rustls")
        .init()
    {
        eprintln!("log bridge already initialised: {e}");
    }
}
