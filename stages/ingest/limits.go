package ingest

import "github.com/hookpipe/hookpipe/stages/ingest/envelope"

// Limits bound what one request may carry; see envelope.Limits.
type Limits = envelope.Limits
