package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
)

// LagCollector exports hookpipe_consumer_lag{group,topic}: records not yet
// committed by each of hookpipe's groups, asked of Kafka at scrape time.
type LagCollector struct {
	adm    *kadm.Client
	groups []string
	desc   *prometheus.Desc
}

// NewLagCollector returns a collector for groups.
func NewLagCollector(adm *kadm.Client, groups []string) *LagCollector {
	return &LagCollector{
		adm:    adm,
		groups: groups,
		desc: prometheus.NewDesc("hookpipe_consumer_lag",
			"Records on a topic not yet committed by the group.", []string{"group", "topic"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (l *LagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- l.desc }

// Collect implements prometheus.Collector; it reports nothing when Kafka
// does not answer within 2 seconds.
func (l *LagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	lags, err := l.adm.Lag(ctx, l.groups...)
	if err != nil {
		return
	}
	for _, g := range lags {
		for topic, lag := range g.Lag.TotalByTopic() {
			ch <- prometheus.MustNewConstMetric(l.desc, prometheus.GaugeValue, float64(lag.Lag), g.Group, topic)
		}
	}
}
