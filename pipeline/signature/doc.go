// Package signature implements the X-Dt-Signature header of a DT Data
// Connector request: a compact JWS (JWT) signed with HMAC-SHA256 under the
// connector's signature secret, whose claims carry the SHA-1 and SHA-256
// checksums of the raw request body.
//
// The deliver stage uses a [Signer] to put a fresh token on every attempt of
// every request of a connector that has a secret. Receivers, including the
// development receiver behind `hookpipe receive` (package
// pipeline/devreceiver), use [Verify] or [VerifyRequest] to prove that a
// request came from whoever holds the secret and that its body was not
// changed on the way. Tokens produced here are byte-compatible with those of
// DT Cloud: the same header, the same claims in the same order, so a
// receiver written against DT's documentation verifies hookpipe's requests
// and the other way round.
//
// The package also implements Standard Webhooks v1 (scheme
// "standard-webhooks"): webhook-id, webhook-timestamp and a
// webhook-signature with one "v1,<base64 HMAC-SHA256>" per secret, so that
// keys rotate without downtime. [StandardSigner] signs, [StandardVerifier]
// verifies; [NewRequestSigner] and [NewVerifier] choose by scheme name.
//
// The package depends only on the standard library and github.com/rs/xid
// (the token id), holds no package-level mutable state, and all of its
// functions and a [Signer] are safe for concurrent use.
package signature
