# mouvements-gen as a small, non-root container: the binary and CA certificates, nothing else.
# Build: docker build --platform linux/amd64 -t mouvements-gen .   (Cloud Run runs x86-64)
# Run:   docker run --rm -e GCS_BUCKET_BASE=gs://bucket/prefix mouvements-gen generate

FROM rust:1.95.0-trixie AS build
WORKDIR /src

# Dependencies first, in a layer of their own: they change far less often than the code.
COPY Cargo.toml Cargo.lock rust-toolchain.toml ./
COPY crates/mouvements-schema/Cargo.toml crates/mouvements-schema/
COPY crates/mouvements-generator/Cargo.toml crates/mouvements-generator/
COPY crates/mouvements-sink/Cargo.toml crates/mouvements-sink/
COPY crates/mouvements-lakehouse/Cargo.toml crates/mouvements-lakehouse/
COPY crates/mouvements-verify/Cargo.toml crates/mouvements-verify/
COPY crates/mouvements-cli/Cargo.toml crates/mouvements-cli/
COPY crates/mouvements-gcs-fake/Cargo.toml crates/mouvements-gcs-fake/
COPY xtask/Cargo.toml xtask/
RUN for crate in crates/* xtask; do mkdir -p "$crate/src" && echo 'fn main() {}' > "$crate/src/main.rs" && touch "$crate/src/lib.rs"; done \
 && cargo build --release --locked -p mouvements-cli --bin mouvements-gen \
 && rm -rf crates/*/src xtask/src

# Then the code.
COPY . .
RUN touch crates/*/src/*.rs \
 && cargo build --release --locked -p mouvements-cli --bin mouvements-gen \
 && strip target/release/mouvements-gen

# distroless/cc on Debian 13: glibc, CA certificates and a non-root user; no shell, no package manager.
FROM gcr.io/distroless/cc-debian13:nonroot
COPY --from=build /src/target/release/mouvements-gen /usr/local/bin/mouvements-gen
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/mouvements-gen"]
CMD ["generate", "--log-format", "json"]
