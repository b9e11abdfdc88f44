# hookpipe's image: one static binary (CGO_ENABLED=0), the CA bundle, a non-root user.
# FROM scratch needs no image registry. The binary and the CA bundle are put in the
# build context by `make image` (bin/docker/), which builds on the host:
#
#   make image    # CGO_ENABLED=0 go build -o bin/docker/hookpipe; docker build -f Dockerfile bin/docker
#
# The same binary is the development receiver (`hookpipe receive`).
FROM scratch
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY hookpipe /hookpipe
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/hookpipe"]
CMD ["run", "--connectors", "/connectors.d", "--listen", "0.0.0.0:8080"]
