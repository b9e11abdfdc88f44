package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A whsec_ secret for the tests (base64 of 32 bytes).
const whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYqrTwjUPD8ILPZI"

func TestSignatureBlock(t *testing.T) {
	env := map[string]string{"NEW": whsec, "OLD": "whsec_b2xkLXNlY3JldC0wMTIzNDU2Nzg5", "DT": "dt-secret"}
	tests := []struct {
		name, body string
		scheme     string
		secrets    []string
	}{
		{"unsigned", ``, "", nil},
		{"empty shorthand is unsigned", `signature_secret = ""`, "", nil},
		{"shorthand", `signature_secret = env("DT")`, "dt-jwt", []string{"dt-secret"}},
		{"block, default scheme", `signature { secrets = [env("DT"), "older"] }`, "dt-jwt", []string{"dt-secret", "older"}},
		{"standard webhooks rotation", `signature {
    scheme  = "standard-webhooks"
    secrets = [env("NEW"), env("OLD")]
  }`, "standard-webhooks", []string{whsec, "whsec_b2xkLXNlY3JldC0wMTIzNDU2Nzg5"}},
		{"standard webhooks without prefix", `signature {
    scheme  = "standard-webhooks"
    secrets = ["` + strings.TrimPrefix(whsec, "whsec_") + `"]
  }`, "standard-webhooks", []string{strings.TrimPrefix(whsec, "whsec_")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, diags := loadSource(t, connectorSrc("  "+tt.body), env)
			if len(diags) > 0 || len(cs) != 1 {
				t.Fatalf("got %d connectors, diagnostics %q", len(cs), diags)
			}
			c := cs[0]
			if c.SignatureScheme != tt.scheme || !cmp.Equal(c.SignatureSecrets, tt.secrets) {
				t.Errorf("scheme %q, %d secrets; want %q, %d", c.SignatureScheme, len(c.SignatureSecrets), tt.scheme, len(tt.secrets))
			}
			wantFirst := ""
			if len(tt.secrets) > 0 {
				wantFirst = tt.secrets[0]
			}
			if c.SignatureSecret != wantFirst {
				t.Error("SignatureSecret is not the first secret")
			}
		})
	}
}

func TestSignatureBlockDiagnostics(t *testing.T) {
	const bad = "whsec_not base64!!"
	tests := []diagnosticCase{
		{"both forms", connectorSrc("  signature_secret = \"a\"\n  signature { secrets = [\"b\"] }"),
			[]string{`x.hcl:3:3: Conflicting signature settings: Use either signature_secret`}},
		{"unknown scheme", connectorSrc("  signature {\n    scheme = \"hmac-sha256\"\n    secrets = [\"a\"]\n  }"),
			[]string{`x.hcl:4:14: Invalid signature scheme: "hmac-sha256" is not a scheme; use "dt-jwt" or "standard-webhooks".`}},
		{"no secrets", connectorSrc(`  signature { scheme = "dt-jwt" }`),
			[]string{`x.hcl:1:1: Missing signature secrets: A signature block needs secrets`}},
		{"empty list", connectorSrc(`  signature { secrets = [] }`),
			[]string{`x.hcl:3:25: Missing signature secrets: The list needs at least one secret.`}},
		{"empty secret", connectorSrc(`  signature { secrets = ["a", ""] }`),
			[]string{`x.hcl:3:31: Invalid signature secret: Secret 2 is empty`}},
		{"repeated secret", connectorSrc(`  signature { secrets = ["a", "b", "a"] }`),
			[]string{`x.hcl:3:36: Duplicate signature secret: Secret 3 repeats secret 1.`}},
		{"not base64", connectorSrc(`  signature {
    scheme = "standard-webhooks"
    secrets = ["` + bad + `"]
  }`), []string{`x.hcl:5:16: Invalid signature secret: Secret 1: the secret is not "whsec_" followed by standard base64`}},
		{"two blocks", connectorSrc("  signature { secrets = [\"a\"] }\n  signature { secrets = [\"b\"] }"),
			[]string{`x.hcl:4:3: Duplicate signature block`}},
		{"webhook headers reserved", connectorSrc(`  headers = { "webhook-signature" = "v1,x" }`),
			[]string{`x.hcl:3:15: Invalid header name: hookpipe sets Webhook-Signature itself`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := loadSource(t, tt.src, nil)
			if len(diags) != len(tt.want) {
				t.Fatalf("diagnostics %q, want %d", diags, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(diags[i], w) {
					t.Errorf("diagnostic %q, want prefix %q", diags[i], w)
				}
				if strings.Contains(diags[i], "not base64!!") {
					t.Errorf("diagnostic shows the secret: %q", diags[i])
				}
			}
		})
	}
}
