# rulegen: alert-tier spec to Prometheus rules, Alertmanager routes and promtool tests (a CLI; mount the spec at /work).
# Build from the repository root: docker build -f deploy/docker/rulegen.Dockerfile -t opscentre/rulegen .
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
      -o /out/rulegen ./cmd/rulegen

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/rulegen /rulegen
USER nonroot:nonroot
ENTRYPOINT ["/rulegen"]
