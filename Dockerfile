# syntax=docker/dockerfile:1
# trcledger: one static binary (CGO_ENABLED=0) on distroless "static", which holds CA
# certificates, the zone database (Europe/Sarajevo; the binary embeds it too) and a nonroot user,
# and no shell. Build: docker build -t trcledger . — see docs/operations.md.
#
# Not built in this repository's CI (no container engine there): a change here is checked by
# hand with `docker build` before release.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so a change of source does not fetch them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/trcledger ./cmd/trcledger

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/trcledger /usr/local/bin/trcledger
# uid 65532; nothing is written to the file system at run time (logs go to stderr).
USER nonroot:nonroot
ENV LISTEN_ADDR=:8080
EXPOSE 8080
# Exec form only: there is no shell. Other commands: docker run IMAGE migrate | verify | token create ...
ENTRYPOINT ["/usr/local/bin/trcledger"]
CMD ["serve"]
