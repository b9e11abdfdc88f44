package config

import (
	"fmt"
	"strings"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/signature"

	"github.com/hashicorp/hcl/v2"
)

// rawSignature is a connector's signature block as gohcl decodes it.
type rawSignature struct {
	Scheme  *hcl.Attribute `hcl:"scheme,optional"`
	Secrets *hcl.Attribute `hcl:"secrets,optional"`
}

// signing sets c's scheme and secrets from the signature_secret shorthand
// or the signature block; def is the connector's header, where a block
// without secrets is reported. Secrets never appear in messages.
func (d *configDecoder) signing(c *pipeline.Connector, shorthand *hcl.Attribute, block *rawSignature, def hcl.Range) {
	if shorthand != nil && block != nil {
		d.errorAt(shorthand.NameRange, "Conflicting signature settings",
			"Use either signature_secret (the dt-jwt shorthand) or a signature block, not both.")
		return
	}
	if block == nil {
		if s, ok := d.str(shorthand); ok && s.val != "" {
			c.SignatureScheme = signature.SchemeDTJWT
			c.SignatureSecrets = []string{s.val}
			c.SignatureSecret = s.val
		}
		return
	}
	scheme := signature.SchemeDTJWT
	if s, ok := d.str(block.Scheme); ok {
		scheme = s.val
		if scheme != signature.SchemeDTJWT && scheme != signature.SchemeStandard {
			d.errorAt(s.rng, "Invalid signature scheme", fmt.Sprintf(
				"%q is not a scheme; use %s.", scheme, strings.Join(quoted(signature.Schemes()), " or ")))
			return
		}
	}
	secrets := d.secrets(block.Secrets, scheme, def)
	if len(secrets) > 0 {
		c.SignatureScheme = scheme
		c.SignatureSecrets = secrets
		c.SignatureSecret = secrets[0]
	}
}

// secrets converts the secrets list of a signature block: at least one,
// none empty or repeated, and for standard-webhooks each a "whsec_" base64
// key. Problems are reported at the element, by position, never by value.
func (d *configDecoder) secrets(attr *hcl.Attribute, scheme string, def hcl.Range) []string {
	if attr == nil {
		d.errorAt(def, "Missing signature secrets",
			`A signature block needs secrets, such as secrets = [env("HOOK_SECRET")].`)
		return nil
	}
	items, ok := d.stringList(attr)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.errorAt(attr.Expr.Range(), "Missing signature secrets", "The list needs at least one secret.")
		return nil
	}
	out := make([]string, 0, len(items))
	first := map[string]int{}
	for i, it := range items {
		switch prev, dup := first[it.val]; {
		case it.val == "":
			d.errorAt(it.rng, "Invalid signature secret", fmt.Sprintf(
				"Secret %d is empty; is its environment variable set to an empty string?", i+1))
		case dup:
			d.errorAt(it.rng, "Duplicate signature secret", fmt.Sprintf("Secret %d repeats secret %d.", i+1, prev+1))
		case scheme == signature.SchemeStandard:
			if _, err := signature.DecodeStandardSecret(it.val); err != nil {
				d.errorAt(it.rng, "Invalid signature secret", fmt.Sprintf(
					"Secret %d: %s; standard-webhooks secrets look like whsec_ followed by base64 "+
						"(for example from: echo whsec_$(head -c 32 /dev/urandom | base64)).", i+1, err))
			}
		}
		first[it.val] = i
		out = append(out, it.val)
	}
	return out
}

// quoted returns each of ss in double quotes.
func quoted(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
