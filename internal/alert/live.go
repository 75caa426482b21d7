package alert

import (
	"context"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// Live wraps an alert store so that every change it commits is reported to
// changed: serve hands it to the rules, the alerts page and the API alike,
// and changed tells the live pages, the notifier and the other nodes.
func Live(st civic.AlertStore, changed func(civic.Alert, civic.AlertEvent)) civic.AlertStore {
	return liveStore{AlertStore: st, changed: changed}
}

type liveStore struct {
	civic.AlertStore
	changed func(civic.Alert, civic.AlertEvent)
}

func (l liveStore) OpenAlert(ctx context.Context, a *civic.Alert) (civic.Alert, bool, error) {
	out, created, err := l.AlertStore.OpenAlert(ctx, a)
	if err == nil && created {
		l.changed(out, civic.EventOpened)
	}
	return out, created, err
}

func (l liveStore) AckAlert(ctx context.Context, id, by string, at time.Time) (civic.Alert, error) {
	out, err := l.AlertStore.AckAlert(ctx, id, by, at)
	if err == nil {
		l.changed(out, civic.EventAcknowledged)
	}
	return out, err
}

func (l liveStore) ResolveAlert(ctx context.Context, id, by, note string, at time.Time) (civic.Alert, error) {
	out, err := l.AlertStore.ResolveAlert(ctx, id, by, note, at)
	if err == nil {
		l.changed(out, civic.EventResolved)
	}
	return out, err
}

func (l liveStore) ResolveCleared(ctx context.Context, binID string, rule civic.RuleKind, note string, at time.Time) (civic.Alert, bool, error) {
	out, ok, err := l.AlertStore.ResolveCleared(ctx, binID, rule, note, at)
	if err == nil && ok {
		l.changed(out, civic.EventResolved)
	}
	return out, ok, err
}
