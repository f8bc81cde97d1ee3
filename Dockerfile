# One image for every role. Each Azure Container App picks its role with
# args (args: ['worker'], ['projector'], ...); with no args the binary runs
# serve, all four roles in one process. tests/deploy/dockerfile_test.go reads
# this file with BuildKit's own parser and runs its build command.
#
# No RUN --mount (cache or secret mounts) anywhere: Azure Container Registry
# remote builds (az acr build) do not run BuildKit, so the file must build
# with the classic builder too. No ARG carries a secret.

FROM golang:1.26 AS build
WORKDIR /src

# The module files first, so the download layer is cached until they change.
COPY go.mod go.sum ./
RUN go mod download

# Only the sources the binary needs; _test.go files are compiled out anyway.
# docs/ holds one Go package: the OpenAPI document the binary serves.
COPY src/ ./src/
COPY docs/openapi.go docs/openapi.yaml ./docs/

# A static binary (the pure-Go SQLite driver needs no cgo), without file
# paths or symbol tables.
ENV CGO_ENABLED=0
RUN go build -trimpath -ldflags='-s -w' -o /out/dropoff ./src/cmd/dropoff

# Distroless static: CA certificates and time zone data, no shell, no package
# manager, nothing to run but the binary. The :nonroot tag runs as uid/gid
# 65532 (nonroot); it is set again below so the image says so itself.
FROM gcr.io/distroless/static-debian13:nonroot
COPY --from=build /out/dropoff /dropoff
USER nonroot:nonroot

# 8080, not 80: a non-root user cannot bind a port below 1024.
# The binary's default address is 127.0.0.1:8080, which is unreachable from
# outside a container; the deployment sets DROPOFF_ADDR=0.0.0.0:8080 (the
# Bicep templates do), so it is left out of the image on purpose.
EXPOSE 8080

ENTRYPOINT ["/dropoff"]
