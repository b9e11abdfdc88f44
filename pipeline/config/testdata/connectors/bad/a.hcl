# Problems in two files, all of which LoadConnectors must report at once.
connector "billing" {
  url     = "https://billing.example.com/hook"
  timeout = "forever"
}

connector "Shipping" {
  url = "https://shipping.example.com/hook"
}
