package standin_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"dispo/adapters/esdblog/standin"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/status"
)

// feed pumps a subscription into a channel so that tests can wait with a
// timeout. The channel closes after the drop.
func feed(tb testing.TB, sub *esdb.Subscription) <-chan *esdb.SubscriptionEvent {
	ch := make(chan *esdb.SubscriptionEvent, 1024)
	go func() {
		defer close(ch)
		for {
			e := sub.Recv()
			ch <- e
			if e.SubscriptionDropped != nil {
				return
			}
		}
	}()
	tb.Cleanup(func() { sub.Close() })
	return ch
}

func describe(e *esdb.SubscriptionEvent) string {
	switch {
	case e.EventAppeared != nil:
		ev := e.EventAppeared.OriginalEvent()
		return fmt.Sprintf("event %s/%d@%d", ev.StreamID, ev.EventNumber, ev.Position.Commit)
	case e.CheckPointReached != nil:
		return fmt.Sprintf("checkpoint @%d", e.CheckPointReached.Commit)
	case e.CaughtUp != nil:
		return "caught up"
	case e.FellBehind != nil:
		return "fell behind"
	case e.SubscriptionDropped != nil:
		return fmt.Sprintf("dropped (%v)", status.Code(e.SubscriptionDropped.Error))
	}
	return "nothing"
}

// take waits for the next n messages.
func take(tb testing.TB, ch <-chan *esdb.SubscriptionEvent, n int) []string {
	tb.Helper()
	var got []string
	for range n {
		select {
		case e, ok := <-ch:
			if !ok {
				tb.Fatalf("subscription ended after %q", got)
			}
			got = append(got, describe(e))
		case <-time.After(5 * time.Second):
			tb.Fatalf("waited 5 s after %q", got)
		}
	}
	return got
}

// quiet checks that nothing more arrives for a moment.
func quiet(tb testing.TB, ch <-chan *esdb.SubscriptionEvent) {
	tb.Helper()
	select {
	case e := <-ch:
		tb.Fatalf("got %s, want nothing more", describe(e))
	case <-time.After(100 * time.Millisecond):
	}
}

func wantSeq(tb testing.TB, got, want []string) {
	tb.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		tb.Fatalf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// mixedExpect is what a subscription filtered on "dispo-unit-" sees of the
// events appendMixed wrote at indexes from..to-1 (positions pos), scanning
// from the scanned-th event with a checkpoint every interval events.
func mixedExpect(pos []uint64, from, to int, scanned *int, interval int) []string {
	var want []string
	for i := from; i < to; i++ {
		if i%3 == 0 {
			want = append(want, fmt.Sprintf("event dispo-unit-%d/0@%d", i, pos[i]))
		}
		*scanned++
		if *scanned%interval == 0 {
			want = append(want, fmt.Sprintf("checkpoint @%d", pos[i]))
		}
	}
	return want
}

func TestSubscribeToAllFiltered(t *testing.T) {
	srv := mustStart(t, standin.Options{})
	c := mustClient(t, srv, "")
	pos := appendMixed(t, c, 0, 30)
	filter := &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{"dispo-unit-"}}

	// From the start: catch-up, checkpoints every 4×2 events scanned,
	// caught up, then live events and checkpoints.
	sub, err := c.SubscribeToAll(testContext(t), esdb.SubscribeToAllOptions{
		From: esdb.Start{}, Filter: filter, MaxSearchWindow: 4, CheckpointInterval: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	ch := feed(t, sub)
	scanned := 0
	want := append(mixedExpect(pos, 0, 30, &scanned, 8), "caught up")
	wantSeq(t, take(t, ch, len(want)), want)
	quiet(t, ch)

	pos = append(pos, appendMixed(t, c, 30, 10)...)
	want = mixedExpect(pos, 30, 40, &scanned, 8)
	wantSeq(t, take(t, ch, len(want)), want)
	quiet(t, ch)

	// From a position: what follows it (exclusive), checkpoints counted
	// from there. Default window 32 × multiplier 1.
	sub2, err := c.SubscribeToAll(testContext(t), esdb.SubscribeToAllOptions{
		From: esdb.Position{Commit: pos[3], Prepare: pos[3]}, Filter: filter,
	})
	if err != nil {
		t.Fatal(err)
	}
	ch2 := feed(t, sub2)
	scanned = 0
	want = append(mixedExpect(pos, 4, 40, &scanned, 32), "caught up")
	wantSeq(t, take(t, ch2, len(want)), want)

	// From the end: caught up at once, then only what is appended.
	sub3, err := c.SubscribeToAll(testContext(t), esdb.SubscribeToAllOptions{From: esdb.End{}, Filter: filter})
	if err != nil {
		t.Fatal(err)
	}
	ch3 := feed(t, sub3)
	wantSeq(t, take(t, ch3, 1), []string{"caught up"})
	pos = append(pos, appendMixed(t, c, 40, 3)...)
	wantSeq(t, take(t, ch3, 1), []string{fmt.Sprintf("event dispo-unit-42/0@%d", pos[42])})
	quiet(t, ch3)

	if st := srv.Stats(); st.Subscriptions != 3 || st.OpenSubscriptions != 3 {
		t.Fatalf("got %+v, want 3 subscriptions, all open", st)
	}
	sub.Close()
	sub2.Close()
	sub3.Close()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().OpenSubscriptions != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("got %d open subscriptions 5 s after the client closed them, want 0", srv.Stats().OpenSubscriptions)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSubscribeToAllUnfilteredAndEventTypeRegex(t *testing.T) {
	srv := mustStart(t, standin.Options{})
	c := mustClient(t, srv, "")
	pos := appendMixed(t, c, 0, 4)

	sub, err := c.SubscribeToAll(testContext(t), esdb.SubscribeToAllOptions{From: esdb.Start{}})
	if err != nil {
		t.Fatal(err)
	}
	wantSeq(t, take(t, feed(t, sub), 5), []string{
		fmt.Sprintf("event dispo-unit-0/0@%d", pos[0]),
		fmt.Sprintf("event other-1/0@%d", pos[1]),
		fmt.Sprintf("event other-2/0@%d", pos[2]),
		fmt.Sprintf("event dispo-unit-3/0@%d", pos[3]),
		"caught up", // and no checkpoint without a filter
	})

	sub, err = c.SubscribeToAll(testContext(t), esdb.SubscribeToAllOptions{
		From:   esdb.Start{},
		Filter: &esdb.SubscriptionFilter{Type: esdb.EventFilterType, Regex: `^other\.`},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantSeq(t, take(t, feed(t, sub), 3), []string{
		fmt.Sprintf("event other-1/0@%d", pos[1]),
		fmt.Sprintf("event other-2/0@%d", pos[2]),
		"caught up",
	})
}

func TestSubscribeToStream(t *testing.T) {
	srv := mustStart(t, standin.Options{})
	c := mustClient(t, srv, "")
	var pos []uint64
	for range 3 {
		pos = append(pos, mustAppend(t, c, "unit-1", esdb.Any{}, newEvent("t", `{}`)).CommitPosition)
		mustAppend(t, c, "unit-2", esdb.Any{}, newEvent("t", `{}`))
	}
	ev := func(rev int) string { return fmt.Sprintf("event unit-1/%d@%d", rev, pos[rev]) }

	subscribe := func(from esdb.StreamPosition) <-chan *esdb.SubscriptionEvent {
		t.Helper()
		sub, err := c.SubscribeToStream(testContext(t), "unit-1", esdb.SubscribeToStreamOptions{From: from})
		if err != nil {
			t.Fatal(err)
		}
		return feed(t, sub)
	}
	fromStart := subscribe(esdb.Start{})
	wantSeq(t, take(t, fromStart, 4), []string{ev(0), ev(1), ev(2), "caught up"})
	afterOne := subscribe(esdb.Revision(1)) // exclusive
	wantSeq(t, take(t, afterOne, 2), []string{ev(2), "caught up"})
	fromEnd := subscribe(esdb.End{})
	wantSeq(t, take(t, fromEnd, 1), []string{"caught up"})

	pos = append(pos, mustAppend(t, c, "unit-1", esdb.Revision(2), newEvent("t", `{}`)).CommitPosition)
	mustAppend(t, c, "unit-2", esdb.Any{}, newEvent("t", `{}`))
	for _, ch := range []<-chan *esdb.SubscriptionEvent{fromStart, afterOne, fromEnd} {
		wantSeq(t, take(t, ch, 1), []string{ev(3)})
		quiet(t, ch)
	}

	// A stream that does not exist yet: no error, caught up, then its
	// first event.
	sub, err := c.SubscribeToStream(testContext(t), "later", esdb.SubscribeToStreamOptions{From: esdb.Start{}})
	if err != nil {
		t.Fatal(err)
	}
	later := feed(t, sub)
	wantSeq(t, take(t, later, 1), []string{"caught up"})
	p := mustAppend(t, c, "later", esdb.NoStream{}, newEvent("t", `{}`)).CommitPosition
	wantSeq(t, take(t, later, 1), []string{fmt.Sprintf("event later/0@%d", p)})
}

// The client cancelling ends the subscription on the server; its context
// too.
func TestSubscriptionEndsWithItsContext(t *testing.T) {
	srv := mustStart(t, standin.Options{})
	c := mustClient(t, srv, "")
	ctx := testContext(t)
	sub, err := c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: esdb.Start{}})
	if err != nil {
		t.Fatal(err)
	}
	ch := feed(t, sub)
	wantSeq(t, take(t, ch, 1), []string{"caught up"})
	if n := srv.Stats().OpenSubscriptions; n != 1 {
		t.Fatalf("got %d open subscriptions, want 1", n)
	}
	sub.Close()
	// Canceled, or Unknown when Recv saw the closed flag first.
	if got := take(t, ch, 1)[0]; !strings.HasPrefix(got, "dropped") {
		t.Fatalf("got %s, want the subscription dropped", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().OpenSubscriptions != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the subscription is still open on the server 5 s after the client closed it")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func describeAt(stream string, rev, pos uint64) string {
	return fmt.Sprintf("event %s/%d@%d", stream, rev, pos)
}
