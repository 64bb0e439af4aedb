# incidentd: incidents from Alertmanager alerts, API on :9478.
# Build from the repository root: docker build -f deploy/docker/incidentd.Dockerfile -t opscentre/incidentd .
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
      -o /out/incidentd ./cmd/incidentd \
 && mkdir -p /out/.state

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/incidentd /incidentd
USER nonroot:nonroot
# The state directory must be writable by uid 65532: a named volume created from this
# image inherits the ownership below.
COPY --from=build --chown=65532:65532 /out/.state /var/lib/incidentd
VOLUME ["/var/lib/incidentd"]
EXPOSE 9478
ENTRYPOINT ["/incidentd", "--storage.path=/var/lib/incidentd/incidentd.db"]
