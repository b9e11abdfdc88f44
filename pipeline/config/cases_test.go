package config

import "strings"

// diagnosticCase is one bad source and the diagnostics it must produce,
// in order: each line must start with its want entry, which is the exact
// position and the start of the message.
type diagnosticCase struct {
	name, src string
	want      []string
}

// connectorSrc wraps body in a connector block named "c" with a valid url, so the
// body's first line is line 3 of the file.
func connectorSrc(body string) string {
	return "connector \"c\" {\n  url = \"https://example.com\"\n" + body + "\n}\n"
}

// diagnosticCases lists one or more cases per rule; FuzzLoadConnectors
// seeds from them too.
func diagnosticCases() []diagnosticCase {
	long := strings.Repeat("a", 64)
	return []diagnosticCase{
		{"parse error", "connector \"c\" {\n  url = \n}\n", []string{`x.hcl:2:9: Invalid expression: Expected the start of an expression`}},
		{"unclosed block", "connector \"c\" {\n", []string{`x.hcl:1:15: Unclosed configuration block`}},
		{"unknown attribute", connectorSrc(`  colour = "red"`), []string{`x.hcl:3:3: Unsupported argument: An argument named "colour"`}},
		{"unknown block", connectorSrc(`  auth {}`), []string{`x.hcl:3:3: Unsupported block type: Blocks of type "auth"`}},
		{"top-level attribute", "prefix = \"x\"\n", []string{`x.hcl:1:1: Unsupported argument: An argument named "prefix"`}},
		{"top-level block", "source \"s\" {}\n", []string{`x.hcl:1:1: Unsupported block type: Blocks of type "source"`}},
		{"missing label", "connector {\n}\n", []string{`x.hcl:1:11: Missing name for connector`}},
		{"extra label", "connector \"a\" \"b\" {\n}\n", []string{`x.hcl:1:15: Extraneous label for connector`}},
		{"upper-case name", `connector "Cold" { url = "https://e.com" }`, []string{`x.hcl:1:11: Invalid connector name: "Cold" does not match ^[a-z0-9][a-z0-9-]{0,62}$`}},
		{"leading dash", `connector "-a" { url = "https://e.com" }`, []string{`x.hcl:1:11: Invalid connector name: "-a"`}},
		{"empty name", `connector "" { url = "https://e.com" }`, []string{`x.hcl:1:11: Invalid connector name: ""`}},
		{"name too long", `connector "` + long + `" { url = "https://e.com" }`, []string{`x.hcl:1:11: Invalid connector name`}},
		{"duplicate name", "connector \"a\" { url = \"https://e.com\" }\n\nconnector \"a\" { url = \"https://f.com\" }\n",
			[]string{`x.hcl:3:11: Duplicate connector name: A connector named "a" is already declared at x.hcl:1.`}},
		{"missing url", "connector \"c\" {\n  timeout = \"1s\"\n}\n", []string{`x.hcl:1:1: Missing url: A connector needs a url`}},
		{"null url", "connector \"c\" {\n  url = null\n}\n", []string{`x.hcl:1:1: Missing url`}},
		{"url not a string", "connector \"c\" {\n  url = [\"https://e.com\"]\n}\n", []string{`x.hcl:2:9: Invalid url: Unsuitable value: string required`}},
		{"url does not parse", "connector \"c\" {\n  url = \"https://e x.com/\"\n}\n", []string{`x.hcl:2:9: Invalid url: The url does not parse: invalid character " " in host name.`}},
		{"url without scheme", "connector \"c\" {\n  url = \"e.com/hook\"\n}\n", []string{`x.hcl:2:9: Invalid url: The url must start with https://`}},
		{"url scheme ftp", "connector \"c\" {\n  url = \"ftp://e.com/\"\n}\n", []string{`x.hcl:2:9: Invalid url: The scheme must be https (or http to a loopback host), not "ftp".`}},
		{"url without host", "connector \"c\" {\n  url = \"https:///hook\"\n}\n", []string{`x.hcl:2:9: Invalid url: The url has no host.`}},
		{"http to remote host", "connector \"c\" {\n  url = \"http://e.com/hook\"\n}\n", []string{`x.hcl:2:9: Invalid url: http is allowed only to a loopback host`}},
		{"unknown event, close", connectorSrc(`  events = ["touch", "temprature"]`), []string{`x.hcl:3:22: Invalid event type: "temprature" is not an event type; did you mean "temperature"?`}},
		{"unknown event, case", connectorSrc(`  events = ["CO2"]`), []string{`x.hcl:3:13: Invalid event type: "CO2" is not an event type; did you mean "co2"?`}},
		{"unknown event, far", connectorSrc(`  events = ["rain"]`), []string{`x.hcl:3:13: Invalid event type: "rain" is not an event type; the types are touch, temperature,`}},
		{"duplicate event", connectorSrc(`  events = ["touch", "motion", "touch"]`), []string{`x.hcl:3:32: Duplicate event type: "touch" is listed more than once.`}},
		{"events not a list", connectorSrc(`  events = "touch"`), []string{`x.hcl:3:12: Invalid events: Unsuitable value: list of string required`}},
		{"events from a for expression", connectorSrc(`  events = [for e in ["touch", "nope"] : e]`), []string{`x.hcl:3:12: Invalid event type: "nope"`}},
		{"headers from a for expression", connectorSrc(`  headers = { for k in ["A"] : k => "x\n" }`), []string{`x.hcl:3:13: Invalid header value: The value of "A"`}},
		{"null event", connectorSrc(`  events = ["touch", null]`), []string{`x.hcl:3:22: Invalid events: The value must not be null.`}},
		{"empty label", connectorSrc(`  labels = ["name", ""]`), []string{`x.hcl:3:21: Invalid label: A label key must not be empty.`}},
		{"duplicate label", connectorSrc(`  labels = ["room", "room"]`), []string{`x.hcl:3:21: Duplicate label: "room" is listed more than once.`}},
		{"header name", connectorSrc(`  headers = { "X Key" = "v" }`), []string{`x.hcl:3:15: Invalid header name: "X Key" is not an HTTP header name`}},
		{"empty header name", connectorSrc(`  headers = { "" = "v" }`), []string{`x.hcl:3:15: Invalid header name: A header name must not be empty.`}},
		{"reserved headers", connectorSrc(`  headers = {
    content-type     = "text/plain"
    "Content-Length" = "1"
    HOST             = "h"
    "X-DT-Signature" = "s"
  }`), []string{
			`x.hcl:4:5: Invalid header name: hookpipe sets Content-Type itself`,
			`x.hcl:5:5: Invalid header name: hookpipe sets Content-Length itself`,
			`x.hcl:6:5: Invalid header name: hookpipe sets Host itself`,
			`x.hcl:7:5: Invalid header name: hookpipe sets X-Dt-Signature itself`,
		}},
		{"duplicate header", connectorSrc(`  headers = { "X-Key" = "a", "x-key" = "b" }`), []string{`x.hcl:3:30: Duplicate header: "x-key" is set more than once`}},
		{"header value CR LF", connectorSrc(`  headers = { "X-Key" = "a\r\nX-Evil: 1" }`), []string{`x.hcl:3:25: Invalid header value: The value of "X-Key" contains a control character`}},
		{"headers not a map", connectorSrc(`  headers = ["a"]`), []string{`x.hcl:3:13: Invalid headers: Unsuitable value: map of string required`}},
		{"timeout syntax", connectorSrc(`  timeout = "10"`), []string{`x.hcl:3:13: Invalid timeout: "10" is not a duration`}},
		{"timeout zero", connectorSrc(`  timeout = "0s"`), []string{`x.hcl:3:13: Invalid timeout: The duration must be greater than zero, not "0s".`}},
		{"timeout negative", connectorSrc(`  timeout = "-1s"`), []string{`x.hcl:3:13: Invalid timeout: The duration must be greater than zero`}},
		{"timeout too long", connectorSrc(`  timeout = "6m"`), []string{`x.hcl:3:13: Invalid timeout: "6m" is longer than the maximum, 5m.`}},
		{"max_in_flight zero", connectorSrc(`  max_in_flight = 0`), []string{`x.hcl:3:19: Invalid max_in_flight: max_in_flight must be a whole number from 1 to 100000, not 0.`}},
		{"max_in_flight too big", connectorSrc(`  max_in_flight = 100001`), []string{`x.hcl:3:19: Invalid max_in_flight: max_in_flight must be a whole number from 1 to 100000, not 100001.`}},
		{"max_in_flight fraction", connectorSrc(`  max_in_flight = 1.5`), []string{`x.hcl:3:19: Invalid max_in_flight: max_in_flight must be a whole number from 1 to 100000, not 1.5.`}},
		{"max_in_flight string", connectorSrc(`  max_in_flight = "many"`), []string{`x.hcl:3:19: Invalid max_in_flight: Unsuitable value: a number is required.`}},
		{"disabled string", connectorSrc(`  disabled = "maybe"`), []string{`x.hcl:3:14: Invalid disabled: Unsuitable value: a bool is required.`}},
		{"two retry blocks", connectorSrc("  retry {}\n  retry {}"), []string{`x.hcl:4:3: Duplicate retry block`}},
		{"retry unknown attribute", connectorSrc(`  retry { attempts = 3 }`), []string{`x.hcl:3:11: Unsupported argument: An argument named "attempts"`}},
		{"backoff empty", connectorSrc(`  retry { backoff = [] }`), []string{`x.hcl:3:21: Invalid retry backoff: The list needs at least one delay`}},
		{"backoff elements", connectorSrc(`  retry { backoff = ["1s", "0s", "soon", "13h"] }`), []string{
			`x.hcl:3:28: Invalid retry backoff: The duration must be greater than zero, not "0s".`,
			`x.hcl:3:34: Invalid retry backoff: "soon" is not a duration`,
			`x.hcl:3:42: Invalid retry backoff: "13h" is longer than the maximum, 12h. The connector and retry topics keep events for 12h`,
		}},
		{"backoff too many tiers", connectorSrc(`  retry { backoff = [` + strings.Repeat(`"1s", `, 21) + `] }`), []string{`x.hcl:3:21: Invalid retry backoff: The list has 21 delays; at most 20`}},
		{"max_age zero", connectorSrc(`  retry { max_age = "0s" }`), []string{`x.hcl:3:21: Invalid retry max_age: The duration must be greater than zero`}},
		{"max_age over retention", connectorSrc(`  retry { max_age = "13h" }`), []string{`x.hcl:3:21: Invalid retry max_age: "13h" is longer than the maximum, 12h. The connector and retry topics keep events for 12h, so Kafka would delete them before then.`}},
		{"env unset", connectorSrc(`  signature_secret = env("NOPE")`), []string{`x.hcl:3:22: Environment variable not set: env("NOPE") reads NOPE, which is not set; set it, or give a default as env("NOPE", "value").`}},
		{"env empty name", connectorSrc(`  signature_secret = env("")`), []string{`x.hcl:3:22: Error in function call: Call to function "env" failed: the variable name must not be empty.`}},
		{"env no argument", connectorSrc(`  signature_secret = env()`), []string{`x.hcl:3:26: Not enough function arguments: Function "env" expects at least 1 argument(s).`}},
		{"unknown function", connectorSrc(`  signature_secret = file("s")`), []string{`x.hcl:3:22: Call to unknown function`}},
		{"variable", connectorSrc(`  signature_secret = var.secret`), []string{`x.hcl:3:22: Variables not allowed`}},
		{"every error in a connector", `connector "c" {
  url           = "http://e.com"
  events        = ["nope"]
  timeout       = "forever"
  max_in_flight = -1
  retry { max_age = "1w" }
}
connector "d" {
  url = "https://e.com"
  headers = { Host = env("NOPE") }
}`, []string{
			`x.hcl:2:19: Invalid url`,
			`x.hcl:3:20: Invalid event type: "nope"`,
			`x.hcl:4:19: Invalid timeout`,
			`x.hcl:5:19: Invalid max_in_flight`,
			`x.hcl:6:21: Invalid retry max_age`,
			`x.hcl:10:22: Environment variable not set`,
		}},
	}
}
