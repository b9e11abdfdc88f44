# The compose stack's connectors (docker-compose.stack.yml). The receiver shares
# hookpipe's network namespace, so it is on hookpipe's loopback and plain http
# stays allowed: the url validation is not relaxed for containers.
connector "dev-all" {
  url              = "http://127.0.0.1:9999/hooks/all"
  labels           = ["name", "room"]
  signature_secret = env("HOOKPIPE_DEV_SECRET")
  headers          = { "X-Source" = "hookpipe-compose" }
  max_in_flight    = 200
  retry {
    backoff = ["2s", "10s", "1m"]
    max_age = "12h"
  }
}

# Only temperature and humidity, with the device's name label.
connector "dev-cold-chain" {
  url              = "http://127.0.0.1:9999/hooks/cold-chain"
  events           = ["temperature", "humidity"]
  labels           = ["name"]
  signature_secret = env("HOOKPIPE_DEV_SECRET")
}
