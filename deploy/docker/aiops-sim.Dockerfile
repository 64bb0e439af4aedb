# aiops-sim: the workload simulator that plays AI systems against aiops_exporter.
# Build from the repository root: docker build -f deploy/docker/aiops-sim.Dockerfile -t opscentre/aiops-sim .
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
      -o /out/aiops-sim ./cmd/aiops-sim

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/aiops-sim /aiops-sim
USER nonroot:nonroot
ENTRYPOINT ["/aiops-sim"]
