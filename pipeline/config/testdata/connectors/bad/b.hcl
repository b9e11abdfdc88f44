connector "billing" {
  url    = "http://billing.example.com/hook"
  events = ["temprature"]
}

connector "alerts" {
  url = "https://alerts.example.com/hook"
  retry {
    max_age = "24h"
  }
}
