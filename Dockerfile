# Build: the whole workspace, release profile. The demo catalog is compiled in.
FROM rust:1.95-bookworm AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cargo build --release --locked -p motcua

# Run: a small Debian with libpq, as an unprivileged user. The data directory
# exists in the image owned by that user, so a named volume mounted there starts
# out writable by it (Docker copies the ownership into a new volume).
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /var/lib/motcua --create-home motcua \
    && mkdir -p /var/lib/motcua/data/files \
    && chown -R motcua:motcua /var/lib/motcua/data
COPY --from=build /src/target/release/motcua /usr/local/bin/motcua
WORKDIR /var/lib/motcua
USER motcua
ENV MOTCUA__SERVER__BIND=0.0.0.0:8080 \
    MOTCUA__DATA_DIR=/var/lib/motcua/data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/health/ready || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["motcua"]
CMD ["serve"]
