# Only the required url: every other attribute takes its default.
connector "local-dev" {
  url = "http://localhost:8080/hook"
}

# http to a loopback address; an empty retry block keeps the default ladder.
connector "loopback-1" {
  url    = "http://127.0.0.1:9000/"
  events = []
  retry {}
}
