package standin_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"dispo/adapters/esdblog/standin"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func wantCode(tb testing.TB, err error, code esdb.ErrorCode) {
	tb.Helper()
	var esErr *esdb.Error
	if !errors.As(err, &esErr) || esErr.Code() != code {
		tb.Fatalf("got error %v, want esdb error code %d", err, code)
	}
}

// The stand-in stops mid-run and comes back: the data survived, clients
// reconnect, and a subscription resumed from the last position it saw
// misses nothing and repeats nothing.
func TestStopRestart(t *testing.T) {
	srv := mustStart(t, standin.Options{})
	busy := mustClient(t, srv, "") // calls during the outage
	idle := mustClient(t, srv, "") // does not
	pos := appendMixed(t, busy, 0, 6)
	if got := readAll(t, idle, esdb.ReadAllOptions{}, 100); len(got) != 6 {
		t.Fatalf("got %s, want 6 events", names(got))
	}

	filter := &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{"dispo-unit-"}}
	sub, err := busy.SubscribeToAll(testContext(t), esdb.SubscribeToAllOptions{From: esdb.Start{}, Filter: filter})
	if err != nil {
		t.Fatal(err)
	}
	ch := feed(t, sub)
	wantSeq(t, take(t, ch, 3), []string{
		fmt.Sprintf("event dispo-unit-0/0@%d", pos[0]),
		fmt.Sprintf("event dispo-unit-3/0@%d", pos[3]),
		"caught up",
	})
	lastSeen := pos[3]

	addr := srv.Addr()
	srv.Stop()
	wantSeq(t, take(t, ch, 1), []string{fmt.Sprintf("dropped (%v)", codes.Unavailable)})
	if n := srv.Stats().OpenSubscriptions; n != 0 {
		t.Fatalf("got %d open subscriptions after Stop, want 0", n)
	}
	// One call during the outage: Unavailable. (A second one would start
	// the client's discovery, which gives up for good after
	// maxDiscoverAttempts × discoveryInterval, 1 s by default.)
	_, err = busy.AppendToStream(testContext(t), "dispo-unit-lost", esdb.AppendToStreamOptions{}, newEvent("t", `{}`))
	wantCode(t, err, esdb.ErrorUnavailable)

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if srv.Addr() != addr {
		t.Fatalf("got address %s after Restart, want %s", srv.Addr(), addr)
	}
	pos = append(pos, appendMixed(t, busy, 6, 6)...)    // rediscovers the node
	all := readAll(t, idle, esdb.ReadAllOptions{}, 100) // reconnects by itself
	if len(all) != 12 {
		t.Fatalf("got %s, want the 12 events appended around the outage", names(all))
	}
	for i, e := range all {
		if e.Position.Commit != pos[i] {
			t.Fatalf("event %d: got position %d, want %d", i, e.Position.Commit, pos[i])
		}
	}

	sub, err = busy.SubscribeToAll(testContext(t), esdb.SubscribeToAllOptions{
		From: esdb.Position{Commit: lastSeen, Prepare: lastSeen}, Filter: filter,
	})
	if err != nil {
		t.Fatal(err)
	}
	ch = feed(t, sub)
	wantSeq(t, take(t, ch, 3), []string{
		fmt.Sprintf("event dispo-unit-6/0@%d", pos[6]),
		fmt.Sprintf("event dispo-unit-9/0@%d", pos[9]),
		"caught up",
	})
	pos = append(pos, appendMixed(t, idle, 12, 1)...)
	wantSeq(t, take(t, ch, 1), []string{fmt.Sprintf("event dispo-unit-12/0@%d", pos[12])})

	if got := readAll(t, mustClient(t, srv, ""), esdb.ReadAllOptions{}, 100); len(got) != 13 {
		t.Fatalf("a new client: got %s, want 13 events", names(got))
	}

	srv.Close()
	if err := srv.Restart(); err == nil {
		t.Fatal("Restart after Close: got no error")
	}
}

// An append cut by Stop before the client finished sending writes nothing.
func TestStopMidAppend(t *testing.T) {
	srv := mustStart(t, standin.Options{})
	streams := api.NewStreamsClient(mustRaw(t, srv))
	call, err := streams.Append(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	opts := &api.AppendReq_Options{
		StreamIdentifier:       &shared.StreamIdentifier{StreamName: []byte("s")},
		ExpectedStreamRevision: &api.AppendReq_Options_Any{Any: &shared.Empty{}},
	}
	if err := call.Send(&api.AppendReq{Content: &api.AppendReq_Options_{Options: opts}}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := call.Send(&api.AppendReq{Content: &api.AppendReq_ProposedMessage_{ProposedMessage: &api.AppendReq_ProposedMessage{
			Id:       &shared.UUID{Value: &shared.UUID_String_{String_: uuid.NewString()}},
			Metadata: map[string]string{"type": "t", "content-type": "application/json"},
			Data:     []byte(`{}`),
		}}}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond) // let the server read them
	srv.Stop()
	if _, err := call.CloseAndRecv(); status.Code(err) != codes.Unavailable {
		t.Fatalf("got %v, want Unavailable", err)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if n := srv.Stats().Events; n != 0 {
		t.Fatalf("got %d events, want none", n)
	}
}

func TestFailNextAppends(t *testing.T) {
	srv := mustStart(t, standin.Options{})
	c := mustClient(t, srv, "")
	e := newEvent("t", `{}`)

	srv.FailNextAppends(2)
	for range 2 {
		_, err := c.AppendToStream(testContext(t), "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, e)
		wantCode(t, err, esdb.ErrorUnavailable)
	}
	if st := srv.Stats(); st.Events != 0 || st.InjectedFailures != 2 {
		t.Fatalf("got %+v, want no event and 2 injected failures", st)
	}
	if wr := mustAppend(t, c, "s", esdb.NoStream{}, e); wr.NextExpectedVersion != 0 {
		t.Fatalf("the retry: got revision %d, want 0", wr.NextExpectedVersion)
	}
}

func TestLoseNextAppendReplies(t *testing.T) {
	srv := mustStart(t, standin.Options{})
	c := mustClient(t, srv, "")
	e := newEvent("t", `{}`)

	srv.LoseNextAppendReplies(1)
	_, err := c.AppendToStream(testContext(t), "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, e)
	wantCode(t, err, esdb.ErrorUnavailable)
	if n := srv.Stats().Events; n != 1 {
		t.Fatalf("got %d events, want the lost append's 1", n)
	}
	// The retry with the same id at the same place is a replay.
	wr := mustAppend(t, c, "s", esdb.NoStream{}, e)
	if wr.NextExpectedVersion != 0 || wr.CommitPosition != standin.FirstPosition {
		t.Fatalf("the retry: got %+v, want revision 0 at %d", wr, standin.FirstPosition)
	}
	if st := srv.Stats(); st.Events != 1 || st.IdempotentAppends != 1 {
		t.Fatalf("got %+v, want 1 event and 1 idempotent append", st)
	}
}

func TestDropSubscriptions(t *testing.T) {
	srv := mustStart(t, standin.Options{})
	c := mustClient(t, srv, "")
	sub, err := c.SubscribeToAll(testContext(t), esdb.SubscribeToAllOptions{From: esdb.Start{}})
	if err != nil {
		t.Fatal(err)
	}
	ch := feed(t, sub)
	wantSeq(t, take(t, ch, 1), []string{"caught up"})
	if n := srv.DropSubscriptions(); n != 1 {
		t.Fatalf("DropSubscriptions: got %d, want 1", n)
	}
	wantSeq(t, take(t, ch, 1), []string{fmt.Sprintf("dropped (%v)", codes.Unavailable)})

	// The server is still up: a new subscription sees the next event.
	sub, err = c.SubscribeToAll(testContext(t), esdb.SubscribeToAllOptions{From: esdb.End{}})
	if err != nil {
		t.Fatal(err)
	}
	ch = feed(t, sub)
	wantSeq(t, take(t, ch, 1), []string{"caught up"})
	p := mustAppend(t, c, "s", esdb.Any{}, newEvent("t", `{}`)).CommitPosition
	wantSeq(t, take(t, ch, 1), []string{fmt.Sprintf("event s/0@%d", p)})
}
