package config

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/hookpipe/hookpipe/pipeline"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
)

// The checks of single connector attributes: url, events, labels and
// headers.

// url converts and checks the required url; def is the block header,
// where a missing url is reported.
func (d *configDecoder) url(attr *hcl.Attribute, def hcl.Range) *url.URL {
	before := len(d.diags)
	it, ok := d.str(attr)
	if !ok {
		if len(d.diags) == before {
			d.errorAt(def, "Missing url", `A connector needs a url, such as url = "https://example.com/hook".`)
		}
		return nil
	}
	u, err := url.Parse(it.val)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // ue.Error() quotes the url, which may hold a token.
		}
		d.errorAt(it.rng, "Invalid url", fmt.Sprintf("The url does not parse: %s.", err))
		return nil
	}
	if msg := urlProblem(u); msg != "" {
		d.errorAt(it.rng, "Invalid url", msg)
		return nil
	}
	return u
}

// urlProblem says what is wrong with u as a webhook endpoint, or "".
func urlProblem(u *url.URL) string {
	switch {
	case u.Scheme == "":
		return "The url must start with https:// (or http:// to a loopback host)."
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Sprintf("The scheme must be https (or http to a loopback host), not %q.", u.Scheme)
	case u.Hostname() == "":
		return "The url has no host."
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return fmt.Sprintf("http is allowed only to a loopback host (localhost, 127.0.0.0/8, ::1); "+
			"use https for %q.", u.Hostname())
	}
	return ""
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// events converts the events filter; nil means all event types.
func (d *configDecoder) events(attr *hcl.Attribute) []string {
	items, _ := d.stringList(attr)
	return d.distinct(items, "event type", func(s string) string {
		if pipeline.KnownEventType(s) {
			return ""
		}
		if k := suggestEventType(s); k != "" {
			return fmt.Sprintf("%q is not an event type; did you mean %q?", s, k)
		}
		return fmt.Sprintf("%q is not an event type; the types are %s.", s, strings.Join(pipeline.EventTypes(), ", "))
	})
}

// suggestEventType returns the known event type closest to s (ignoring
// case, at most two edits away), or "".
func suggestEventType(s string) string {
	best, bestDist := "", 3
	for _, k := range pipeline.EventTypes() {
		if strings.EqualFold(k, s) {
			return k
		}
		if dist := levenshtein.Distance(strings.ToLower(s), strings.ToLower(k), nil); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	return best
}

// labels converts the label keys copied into webhook bodies.
func (d *configDecoder) labels(attr *hcl.Attribute) []string {
	items, _ := d.stringList(attr)
	return d.distinct(items, "label", func(s string) string {
		if s == "" {
			return "A label key must not be empty."
		}
		return ""
	})
}

// distinct returns the values of items, reporting each one that check
// rejects (check returns the detail) or that repeats an earlier one. what
// names an element in messages. The result is nil when empty.
func (d *configDecoder) distinct(items []configValue, what string, check func(string) string) []string {
	var out []string
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		if msg := check(it.val); msg != "" {
			d.errorAt(it.rng, "Invalid "+what, msg)
			continue
		}
		if seen[it.val] {
			d.errorAt(it.rng, "Duplicate "+what, fmt.Sprintf("%q is listed more than once.", it.val))
			continue
		}
		seen[it.val] = true
		out = append(out, it.val)
	}
	return out
}

// headers converts the extra request headers; nil when there are none.
// Names keep their spelling but must be unique ignoring case. Values,
// which may be secrets, never appear in messages.
func (d *configDecoder) headers(attr *hcl.Attribute) map[string]string {
	items, _ := d.stringMap(attr)
	var out map[string]string
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		canon := http.CanonicalHeaderKey(it.key)
		switch msg := headerNameProblem(it.key); {
		case msg != "":
			d.errorAt(it.keyRng, "Invalid header name", msg)
		case seen[canon]:
			d.errorAt(it.keyRng, "Duplicate header", fmt.Sprintf("%q is set more than once (names ignore case).", it.key))
		case strings.IndexFunc(it.val, isCtl) >= 0:
			d.errorAt(it.rng, "Invalid header value", fmt.Sprintf(
				"The value of %q contains a control character, such as CR or LF.", it.key))
		default:
			if out == nil {
				out = make(map[string]string, len(items))
			}
			out[it.key] = it.val
		}
		seen[canon] = true
	}
	return out
}

// headerNameProblem says what is wrong with name as a connector header.
func headerNameProblem(name string) string {
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return fmt.Sprintf("%q is not an HTTP header name: use letters, digits and !#$%%&'*+-.^_`|~.", name)
		}
	}
	switch canon := http.CanonicalHeaderKey(name); canon {
	case "":
		return "A header name must not be empty."
	case "Content-Type", "Content-Length", "Host", "Transfer-Encoding", "X-Dt-Signature",
		"Webhook-Id", "Webhook-Timestamp", "Webhook-Signature":
		return fmt.Sprintf("hookpipe sets %s itself; a connector cannot override it.", canon)
	}
	return ""
}

// isCtl reports whether r is a control character not allowed in an HTTP
// header value (all but horizontal tab).
func isCtl(r rune) bool {
	return r < ' ' && r != '\t' || r == 0x7f
}
