# Only temperature and humidity, with the device's name label.
connector "dev-cold-chain" {
  url              = "http://127.0.0.1:9999/hooks/cold-chain"
  events           = ["temperature", "humidity"]
  labels           = ["name"]
  signature_secret = env("HOOKPIPE_DEV_SECRET", "dev-secret")
}
