package stages

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/config"
	"github.com/hookpipe/hookpipe/pipeline/kafka"
	"github.com/hookpipe/hookpipe/stages/deliver"
	"github.com/hookpipe/hookpipe/stages/fanout"
)

// reloader is the part of a Process that a reload changes.
type reloader struct {
	live     *Live
	fanout   *fanout.Stage    // nil: this process runs no fanout
	delivers []*deliver.Stage // the deliver and retry stages it runs
	reloadMu sync.Mutex       // one reload at a time
}

// ErrNoLoader is Reload's error when Options.Load is nil.
var ErrNoLoader = errors.New("reload: this process has no connectors loader")

// Reload reads the connectors again (Options.Load) and applies them
// without a restart. A reading with any error changes nothing: it is
// logged, shown under GET /v1/config as "rejected", and returned. So is
// a failure to create (or, with NoCreateTopics, to verify) the topics of
// new or changed connectors. A good reading is applied in this order:
// topics; gates (health); the deliver and retry routes of removed,
// changed and added connectors, each removed or changed route first
// settling its in-flight requests and committing its done prefix; then
// fanout's connector set, in effect from its next transaction; then the
// API. Reload returns once all of that is done (or ctx ended, with an
// error). Calls are serialised; it is safe to call while Run runs.
func (p *Process) Reload(ctx context.Context) error {
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	if p.opts.Load == nil {
		return ErrNoLoader
	}
	now, dirHash := time.Now(), DirHash(p.opts.ConnectorsDir)
	conns, err := p.opts.Load()
	if err != nil {
		return p.rejectReload(now, dirHash, err)
	}
	d := config.Compare(p.live.Connectors(), conns)
	if d.Empty() {
		p.live.accepted()
		p.log.Info("connectors reloaded: nothing changed", "hash", config.Hash(conns), "dirHash", dirHash)
		return nil
	}
	if err := p.reloadTopics(ctx, slices.Concat(d.Added, d.Changed)); err != nil {
		return p.rejectReload(now, dirHash, err)
	}
	p.health.Update(conns)
	var errs []error
	for _, s := range p.delivers {
		errs = append(errs, s.Apply(ctx, conns))
	}
	if p.fanout != nil {
		p.fanout.SetConnectors(conns)
	}
	p.live.set(conns, now)
	p.log.Info("connectors reloaded", "hash", config.Hash(conns), "dirHash", dirHash,
		"added", config.Names(d.Added), "removed", config.Names(d.Removed), "changed", config.Names(d.Changed))
	if err := errors.Join(errs...); err != nil {
		p.log.Error("reload: some routes did not change", "err", err)
		return err
	}
	return nil
}

// rejectReload records, logs and returns a rejected reading.
func (p *Process) rejectReload(now time.Time, dirHash string, err error) error {
	p.live.reject(now, dirHash, err)
	p.log.Error("connectors.d rejected; the configuration in force is unchanged", "dirHash", dirHash, "err", err)
	return fmt.Errorf("connectors rejected: %w", err)
}

// reloadTopics creates (or, with NoCreateTopics, verifies) the topics of
// conns.
func (p *Process) reloadTopics(ctx context.Context, conns []*pipeline.Connector) error {
	if len(conns) == 0 {
		return nil
	}
	adm := kadm.NewClient(p.admin)
	specs := p.opts.Topics.Specs(conns)
	if p.opts.NoCreateTopics {
		if err := kafka.VerifyTopics(ctx, adm, specs, p.opts.TopicOptions); err != nil {
			return kafka.ExplainAuthorization(fmt.Errorf("topics: %w", err), p.opts.Topics.Prefix+".", true)
		}
		return nil
	}
	if err := kafka.EnsureTopics(ctx, adm, specs, p.opts.TopicOptions, p.log); err != nil {
		return kafka.ExplainAuthorization(fmt.Errorf("topics: %w", err), p.opts.Topics.Prefix+".", false)
	}
	return nil
}
