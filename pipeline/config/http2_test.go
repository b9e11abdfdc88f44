package config

import "testing"

// http2 defaults to false, true is kept, and true with a plain http url is
// an error at the value: HTTP/2 is negotiated in the TLS handshake.
func TestLoadConnectorsHTTP2(t *testing.T) {
	for _, tt := range []struct {
		name, src string
		want      bool
		diag      string
	}{
		{"omitted", `connector "c" { url = "https://example.com" }`, false, ""},
		{"false", `connector "c" {
  url = "https://example.com"
  http2 = false
}`, false, ""},
		{"true", `connector "c" {
  url = "https://example.com"
  http2 = true
}`, true, ""},
		{"true over http", `connector "c" {
  url = "http://127.0.0.1:8080"
  http2 = true
}`, false, "x.hcl:3:11: Invalid http2: http2 = true needs an https url"},
		{"not a bool", `connector "c" {
  url = "https://example.com"
  http2 = "yes please"
}`, false, "x.hcl:3:11: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cs, diags := loadSource(t, tt.src, nil)
			if tt.diag != "" {
				checkLines(t, diags, []string{tt.diag})
				return
			}
			if len(diags) > 0 || len(cs) != 1 {
				t.Fatalf("got %d connectors, diagnostics %q", len(cs), diags)
			}
			if cs[0].HTTP2 != tt.want {
				t.Errorf("HTTP2 = %v, want %v", cs[0].HTTP2, tt.want)
			}
		})
	}
}
