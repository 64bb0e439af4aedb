# aiops_exporter: AI model metrics for Prometheus on :9477.
# Build from the repository root: docker build -f deploy/docker/aiops_exporter.Dockerfile -t opscentre/aiops_exporter .
# A static binary (CGO_ENABLED=0: SQLite is modernc.org/sqlite, pure Go) on distroless/static,
# running as the image's unprivileged "nonroot" user (65532).
ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=${VERSION}" \
      -o /out/aiops_exporter ./cmd/aiops_exporter \
 && mkdir -p /out/.state

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/aiops_exporter /aiops_exporter
USER nonroot:nonroot
# The state directory must be writable by uid 65532: a named volume created from this
# image inherits the ownership below.
COPY --from=build --chown=65532:65532 /out/.state /var/lib/aiops_exporter
VOLUME ["/var/lib/aiops_exporter"]
EXPOSE 9477
ENTRYPOINT ["/aiops_exporter", "--storage.path=/var/lib/aiops_exporter"]
