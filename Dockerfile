# mouvements-gen as a small, non-root container: the binary and CA certificates, nothing else.
# Build: docker build -t mouvements-gen .
# Run:   docker run --rm -e GCS_BUCKET_BASE=gs://bucket/prefix mouvements-gen generate

FROM rust:1.95.0-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p mouvements-cli --bin mouvements-gen \
 && strip target/release/mouvements-gen

# distroless/cc: glibc, CA certificates and a non-root user; no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/mouvements-gen /usr/local/bin/mouvements-gen
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/mouvements-gen"]
CMD ["generate", "--log-format", "json"]
