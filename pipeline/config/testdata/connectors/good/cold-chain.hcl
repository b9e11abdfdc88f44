# Every attribute set, to values other than the defaults.
connector "cold-chain" {
  url              = "https://example.com/hooks/dt?tenant=7"
  events           = ["temperature", "humidity"]
  labels           = ["name", "room"]
  signature_secret = env("COLD_CHAIN_SECRET")
  headers          = { "X-Api-Key" = env("COLD_CHAIN_KEY"), Accept = "application/json" }
  timeout          = "30s"
  max_in_flight    = 50
  disabled         = true
  retry {
    backoff = ["1s", "30s", "2m"]
    max_age = "6h"
  }
}
