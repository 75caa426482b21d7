package main

import (
	"context"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

// The hooks between a node's components (see node.go).

// readingsCommitted hands what the writer committed to everything that
// follows the bins: forecasts, alert rules, other nodes and the live pages.
func (n *node) readingsCommitted(rs []civic.Reading) {
	n.metrics.committed(rs)
	n.forecasts.Observe(rs)
	n.engine.OnCommit(rs)
	n.events.ReadingsCommitted(rs)
	n.ui.Publish(rs)
}

// binCollected follows a crew's collection of a bin, once committed: its
// open 311 requests close, and the bin's live state is empty now, on the
// map here and, through the live events, on every node.
func (n *node) binCollected(binID string) {
	n.requestsCollected(binID)
	n.ui.RefreshBins(context.Background(), binID)
	n.events.ReadingsCommitted([]civic.Reading{{Bin: binID}})
}

// alertChanged follows every committed alert change, whoever made it (the
// rules, the alerts page, the API): the live pages, the notifier and the
// other nodes hear of it.
func (n *node) alertChanged(al civic.Alert, ev civic.AlertEvent) {
	n.ui.PublishAlert(al, ev)
	n.notifier.Kick()
	n.events.AlertChanged(al, ev)
}

// remoteAlert is an alert change another node committed.
func (n *node) remoteAlert(al civic.Alert, ev civic.AlertEvent) {
	n.ui.PublishAlert(al, ev)
}

// remoteStates are bin states other nodes committed. The alert engine and
// the forecasts learn of those uplinks too: the node holding the sweep lock
// must not take a bin that reports to another node for offline, and every
// node's forecasts follow every bin. A state written a while ago (a
// catch-up reads them all) is no news of an uplink and is left out: the
// engine counts every reading it is handed as one. (A state carries a
// bin's newest reading; readings a node commits within one interval for
// the same bin reach the others as one.)
func (n *node) remoteStates(states []civic.BinState) {
	n.ui.PublishStates(states)
	now := n.app.now()
	var rs []civic.Reading
	for i := range states {
		if now.Sub(states[i].UpdatedAt) <= time.Minute {
			rs = append(rs, states[i].Reading())
		}
	}
	if len(rs) > 0 {
		n.engine.OnCommit(rs)
		n.forecasts.Observe(rs)
	}
}

// assetsChanged drops what the caches here hold of a changed key or asset,
// whether this node or another changed it: a revoked key stops working at
// once, a moved or deactivated device is checked again, and the map and
// the alert engine reload bins. An empty Kind means everything.
func (n *node) assetsChanged(f store.Forget) {
	if f.Kind == "" || f.Kind == store.ForgetKey {
		n.app.auth.ForgetKey(f.ID)
	}
	if f.Kind == "" || f.Kind == store.ForgetDevice {
		n.writer.ForgetDevice(f.ID)
	}
	if f.Kind == "" || f.Kind == store.ForgetBin || f.Kind == store.ForgetZone {
		n.ui.AssetsChanged()
	}
	if f.Kind != store.ForgetKey {
		n.engine.AssetsChanged()
	}
}

// singleton takes the named cluster-wide lock for a job that must run on
// one node at a time (a PostgreSQL advisory lock; in-process on SQLite).
func (n *node) singleton(ctx context.Context, name string) (<-chan struct{}, func(), bool) {
	l, ok, err := n.app.store.TryLock(ctx, name)
	if err != nil {
		n.log.Warn("singleton lock", "name", name, "err", err)
	}
	if !ok {
		return nil, nil, false
	}
	return l.Done(), l.Release, true
}
