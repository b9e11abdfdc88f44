package deliver

import (
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/metrics"
	"github.com/hookpipe/hookpipe/stages/deliver/health"
)

// judge classifies the answer res to record r, gives r back to the
// connector's gate with the verdict (a nil gate is skipped) and counts a
// throttling answer. It returns the verdict.
func judge(g *health.Gate, m *metrics.ConnectorMetrics, c *pipeline.Connector, r *kgo.Record, res Result) health.Verdict {
	now := time.Now()
	v := health.Classify(res.Status, res.RetryAfter, now, slices.Max(c.Retry.Backoff))
	if v.Kind == health.Throttled {
		m.Throttled()
	}
	if g != nil {
		g.Done(r, v, now)
	}
	return v
}
