# Every event, signed, to the development receiver that `make run` starts.
connector "dev-all" {
  url              = "http://127.0.0.1:9999/hooks/all"
  labels           = ["name", "room"]
  signature_secret = env("HOOKPIPE_DEV_SECRET", "dev-secret")
  headers          = { "X-Source" = "hookpipe-dev" }
  max_in_flight    = 200
  retry {
    backoff = ["2s", "10s", "1m"]
    max_age = "12h"
  }
}
