# syntax=docker/dockerfile:1
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -pgo=build/hookline.pgo -ldflags "-s -w -X main.version=${VERSION}" -o /hookline ./cmd/hookline

# One static binary runs every role: serve, worker, all, migrate…
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /hookline /hookline
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/hookline"]
CMD ["all"]
