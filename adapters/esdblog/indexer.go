package esdblog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"dispo/domain"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

// openSub subscribes to $all after from (from its start if nil), filtered on
// the server by the prefix. The subscription lives until ctx ends, Close, or
// the returned stop is called; opening it is bounded by the CallTimeout.
func (l *Log) openSub(ctx context.Context, from *allPos) (*esdb.Subscription, func(), error) {
	sctx, scancel := context.WithCancel(ctx)
	unhook := context.AfterFunc(l.base, scancel)
	tctx, tcancel := context.WithTimeout(ctx, l.opts.CallTimeout)
	defer tcancel()
	opts := esdb.SubscribeToAllOptions{
		From:   esdb.Start{},
		Filter: &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{l.opts.Prefix}},
	}
	if from != nil {
		opts.From = from.esdb()
	}
	sub, err := do(l, tctx, func(_ context.Context, c *esdb.Client) (*esdb.Subscription, error) {
		return c.SubscribeToAll(sctx, opts)
	})
	if err != nil {
		scancel()
		unhook()
		return nil, nil, err
	}
	return sub, func() { sub.Close(); scancel(); unhook() }, nil
}

// errMoved: the server does not hold, where the index says, the last event
// the index holds.
var errMoved = errors.New("esdblog: $all does not match the index")

// runIndex follows $all from the index's head for as long as the log is
// open, adding each dispo event to the index. It resumes one event early
// every time, and checks that this event is the one the index ends with:
// at Open, a checkpoint that does not match the server is dropped and $all
// indexed from its start; later, a mismatch stops the index for good
// (streams deleted or scavenged under it).
func (l *Log) runIndex() {
	defer close(l.indexDone)
	defer l.markCaughtUp() // Open must not wait for an indexer that stopped
	backoff := l.opts.RetryBackoff
	checked := false // the resume point was found on the server once
	for l.base.Err() == nil {
		head, last, lastID := l.idx.state()
		var from *allPos
		if head > 1 {
			p, _ := l.idx.position(head - 1)
			from = &p
		}
		sub, stop, err := l.openSub(l.base, from)
		if err != nil {
			if l.base.Err() != nil {
				return
			}
			l.setIndexErr(err)
			l.opts.Logger.Log(context.Background(), logLevel(err), "esdblog: index: cannot subscribe to $all; retrying", "err", err, "backoff", backoff)
			l.sleep(l.base, backoff)
			backoff = min(2*backoff, l.opts.MaxBackoff)
			continue
		}
		if head == 0 && l.allEmpty {
			l.markCaughtUp()
		}
		progressed, err := l.follow(sub, from, head > 0, last, lastID)
		stop()
		if progressed {
			backoff = l.opts.RetryBackoff
		}
		switch {
		case l.base.Err() != nil:
			return
		case errors.Is(err, errMoved) && !checked && head > 0:
			l.opts.Logger.Warn("esdblog: index checkpoint does not match the server; indexing $all from its start", "head", head)
			l.idx.reset()
			continue
		case errors.Is(err, errMoved):
			l.idx.fail(fmt.Errorf("%w at position %d: were events of dispo streams deleted or scavenged?", errMoved, head))
			l.opts.Logger.Error("esdblog: index stopped", "err", err, "head", head)
			return
		}
		if progressed || head == 0 {
			checked = true
		}
		l.setIndexErr(err)
		l.opts.Logger.Log(context.Background(), logLevel(err), "esdblog: index: subscription to $all dropped; resubscribing", "err", err, "backoff", backoff)
		l.sleep(l.base, backoff)
		backoff = min(2*backoff, l.opts.MaxBackoff)
	}
}

// follow indexes what sub delivers until it drops. If verify, the first
// dispo event after from must be the index's last (at want, with id wantID).
// progressed reports whether that check passed or anything was indexed.
func (l *Log) follow(sub *esdb.Subscription, from *allPos, verify bool, want allPos, wantID domain.EventID) (progressed bool, err error) {
	prefix := l.opts.Prefix
	for {
		se := sub.Recv()
		switch {
		case se.SubscriptionDropped != nil:
			if se.SubscriptionDropped.Error == nil {
				return progressed, errors.New("esdblog: subscription dropped")
			}
			return progressed, se.SubscriptionDropped.Error
		case se.EventAppeared != nil:
			ev := se.EventAppeared.OriginalEvent()
			if ev == nil || !strings.HasPrefix(ev.StreamID, prefix) {
				continue
			}
			p := posOf(ev.Position)
			if from != nil && !p.after(*from) {
				continue // the server counted from as included
			}
			if verify {
				if p != want || domain.EventID(ev.EventID) != wantID {
					return progressed, errMoved
				}
				verify, progressed = false, true
				continue
			}
			if head, last, _ := l.idx.state(); head > 0 && !p.after(last) {
				continue // delivered again
			}
			l.idx.add(domain.EventID(ev.EventID), ev.StreamID[len(prefix):], ev.EventNumber, p)
			progressed = true
			if l.openEnd != nil && !l.openEnd.after(p) {
				l.markCaughtUp()
			}
		case se.CheckPointReached != nil:
			if !verify && l.openEnd != nil && !l.openEnd.after(posOf(*se.CheckPointReached)) {
				l.markCaughtUp()
			}
		case se.CaughtUp != nil:
			if verify {
				return progressed, errMoved // the last event indexed is not there any more
			}
			l.markCaughtUp()
		}
	}
}

// logLevel is Info for what retrying mends, Error for the rest.
func logLevel(err error) slog.Level {
	if permanent(err) {
		return slog.LevelError
	}
	return slog.LevelInfo
}

// setIndexErr keeps the indexer's last failure, for Open to report.
func (l *Log) setIndexErr(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.indexErr = err
}

func (l *Log) markCaughtUp() { l.caughtSet.Do(func() { close(l.caughtUp) }) }

// runCheckpoints writes the index's new complete blocks to the checkpoint
// file every CheckpointInterval until Close.
func (l *Log) runCheckpoints() {
	defer close(l.ckptDone)
	t := time.NewTicker(l.opts.CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-l.base.Done():
			return
		}
		if err := l.flushCheckpoint(); err != nil {
			l.opts.Logger.Error("esdblog: writing the index checkpoint", "err", err)
		}
	}
}

// flushCheckpoint appends the complete blocks not yet in the file, starting
// the file again if the index was reset since. One goroutine at a time.
func (l *Log) flushCheckpoint() error {
	blocks, epoch := l.idx.completeBlocks()
	if epoch != l.ckptEpoch || len(blocks) < l.ckpt.written {
		if err := l.ckpt.restart(l.opts.Prefix); err != nil {
			return fmt.Errorf("esdblog: checkpoint: %w", err)
		}
		l.ckptEpoch = epoch
	}
	return l.ckpt.write(blocks)
}
