package kafka

import (
	"context"
	"log/slog"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ProduceAcked produces r and waits until Kafka acknowledges it. A failed
// produce is retried with a growing pause (100ms to 5s) until it succeeds
// or ctx ends, in which case ctx's error is returned: at-least-once never
// drops a record because a write failed. r must not be reused while this
// runs.
func ProduceAcked(ctx context.Context, cl *kgo.Client, log *slog.Logger, r *kgo.Record) error {
	pause := 100 * time.Millisecond
	for {
		err := cl.ProduceSync(ctx, r).FirstErr()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Warn("produce failed, retrying", "topic", r.Topic, "err", err, "in", pause)
		if !pipeline.Sleep(ctx, pause) {
			return ctx.Err()
		}
		pause = min(2*pause, 5*time.Second)
	}
}
