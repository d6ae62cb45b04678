# syntax=docker/dockerfile:1
# A minimal image: the static (musl) binary on distroless, running as a non-root user.
#   docker build -t pipectl . && docker run --rm -v "$PWD:/work" -w /work pipectl plan stack.toml
FROM rust:1.95-bookworm AS build
ARG TARGETARCH=amd64
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends musl-tools=1.2.3-1 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, in their own layer: an edit of pipectl's code does not download them again.
COPY Cargo.toml Cargo.lock build.rs ./
COPY vendor ./vendor
COPY emulator/kafka_broker ./emulator/kafka_broker
RUN mkdir -p src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo fetch --locked && rm -rf src
COPY . .
# The build directory is a cache mount: a rebuild compiles only what changed.
RUN --mount=type=cache,target=/src/target,sharing=locked \
    case "$TARGETARCH" in \
      amd64) target=x86_64-unknown-linux-musl ;; \
      arm64) target=aarch64-unknown-linux-musl ;; \
      *) echo "unsupported architecture $TARGETARCH" >&2; exit 1 ;; \
    esac \
    && rustup target add "$target" \
    && CC_x86_64_unknown_linux_musl=musl-gcc CC_aarch64_unknown_linux_musl=musl-gcc \
       cargo build --release --locked --target "$target" \
    && cp "target/$target/release/pipectl" /pipectl

# distroless/static: CA certificates and /etc/passwd with the nonroot user, nothing else.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /pipectl /usr/local/bin/pipectl
# 65532 is distroless's nonroot user.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/pipectl"]
