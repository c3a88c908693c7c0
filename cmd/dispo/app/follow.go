package app

import (
	"context"
	"iter"
	"time"

	"dispo/domain"
	"dispo/projections"
)

// Source is what following needs of a log: its head, and a subscription
// that catches up from a position then follows new events.
type Source interface {
	Head(ctx context.Context) (uint64, error)
	Subscribe(ctx context.Context, after uint64) iter.Seq2[domain.Envelope, error]
}

// The pause before resuming a broken subscription doubles from
// minResumePause up to maxResumePause while it keeps breaking: a log that
// is down is not hammered, one back is caught up with within seconds.
const (
	minResumePause = 50 * time.Millisecond
	maxResumePause = 5 * time.Second
)

// Follow applies the events of src to live until ctx ends: first those
// already stored (live turns Ready once it reaches the head seen when
// Follow started), then each new one. A broken subscription is resumed
// from the position reached, after a pause, so no event is missed or
// applied twice; onError, if not nil, hears of each break, and live is not
// Ready until an event is applied past it. After live.Restore it starts
// after the image's position; a position past the log's head (a snapshot
// of another log) is an error, and the caller should fold from 0 into a
// new Live. Follow returns ctx's error, or the error that stops it
// for good.
func Follow(ctx context.Context, live *projections.Live, src Source, onError func(error)) error {
	head, err := src.Head(ctx)
	if err != nil {
		live.Fail(err)
		return err
	}
	if err := live.Begin(head); err != nil {
		return err
	}
	pause := minResumePause
	for {
		for env, err := range src.Subscribe(ctx, live.Position()) {
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				live.Fail(err)
				if onError != nil {
					onError(err)
				}
				break
			}
			live.Apply(&env)
			pause = minResumePause
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, maxResumePause)
	}
}
