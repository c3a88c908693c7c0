package standin_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"dispo/adapters/esdblog/standin"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	gossipapi "github.com/EventStore/EventStore-Client-Go/v4/protos/gossip"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// callTimeout bounds every call a test makes.
const callTimeout = 10 * time.Second

func mustStart(tb testing.TB, opts standin.Options) *standin.Server {
	tb.Helper()
	srv, err := standin.Start(opts)
	if err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(srv.Close)
	return srv
}

// mustClient connects the real client; params are appended to the URL's
// query ("&keepAliveInterval=10000").
func mustClient(tb testing.TB, srv *standin.Server, params string) *esdb.Client {
	tb.Helper()
	conf, err := esdb.ParseConnectionString(srv.URL() + params)
	if err != nil {
		tb.Fatalf("ParseConnectionString(%q): %v", srv.URL()+params, err)
	}
	conf.Logger = esdb.NoopLogging()
	c, err := esdb.NewClient(conf)
	if err != nil {
		tb.Fatalf("NewClient: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// mustRaw is a plain gRPC connection, for what the client does not send.
func mustRaw(tb testing.TB, srv *standin.Server) *grpc.ClientConn {
	tb.Helper()
	conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatalf("grpc.NewClient: %v", err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

func testContext(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	tb.Cleanup(cancel)
	return ctx
}

func newEvent(typ, data string) esdb.EventData {
	return esdb.EventData{
		EventID:     uuid.New(),
		EventType:   typ,
		ContentType: esdb.ContentTypeJson,
		Data:        []byte(data),
		Metadata:    []byte(`{"actor":"u1","schema":1}`),
	}
}

func mustAppend(tb testing.TB, c *esdb.Client, stream string, exp esdb.ExpectedRevision, events ...esdb.EventData) *esdb.WriteResult {
	tb.Helper()
	wr, err := c.AppendToStream(testContext(tb), stream, esdb.AppendToStreamOptions{ExpectedRevision: exp}, events...)
	if err != nil {
		tb.Fatalf("append to %s at %T%v: %v", stream, exp, exp, err)
	}
	return wr
}

// collect drains a ReadStream; err is the first error other than io.EOF.
func collect(rs *esdb.ReadStream) ([]*esdb.RecordedEvent, error) {
	defer rs.Close()
	var got []*esdb.RecordedEvent
	for {
		e, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = append(got, e.OriginalEvent())
	}
}

func readStream(tb testing.TB, c *esdb.Client, stream string, opts esdb.ReadStreamOptions, count uint64) ([]*esdb.RecordedEvent, error) {
	tb.Helper()
	rs, err := c.ReadStream(testContext(tb), stream, opts, count)
	if err != nil {
		tb.Fatalf("ReadStream %s: %v", stream, err)
	}
	return collect(rs)
}

func readAll(tb testing.TB, c *esdb.Client, opts esdb.ReadAllOptions, count uint64) []*esdb.RecordedEvent {
	tb.Helper()
	rs, err := c.ReadAll(testContext(tb), opts, count)
	if err != nil {
		tb.Fatalf("ReadAll: %v", err)
	}
	got, err := collect(rs)
	if err != nil {
		tb.Fatalf("ReadAll: %v", err)
	}
	return got
}

// names renders events as stream/revision@position, for comparisons that
// print got and want.
func names(events []*esdb.RecordedEvent) string {
	var b strings.Builder
	for _, e := range events {
		fmt.Fprintf(&b, "%s/%d@%d ", e.StreamID, e.EventNumber, e.Position.Commit)
	}
	return b.String()
}

// wantWrongExpected checks that err is the client's WrongExpectedVersion
// error. The client exposes the revisions only in its message:
// "wrong expected version: expecting '<expected>' but got '<current>'".
func wantWrongExpected(tb testing.TB, err error, expected, current string) {
	tb.Helper()
	var esErr *esdb.Error
	if !errors.As(err, &esErr) || esErr.Code() != esdb.ErrorCodeWrongExpectedVersion {
		tb.Fatalf("got error %v, want ErrorCodeWrongExpectedVersion", err)
	}
	want := fmt.Sprintf("expecting '%s' but got '%s'", expected, current)
	if !strings.Contains(esErr.Err().Error(), want) {
		tb.Fatalf("got %q, want it to contain %q", esErr.Err().Error(), want)
	}
}

func TestAppendExpectedRevisions(t *testing.T) {
	srv := mustStart(t, standin.Options{})
	c := mustClient(t, srv, "")
	ctx := testContext(t)
	appendErr := func(stream string, exp esdb.ExpectedRevision) error {
		_, err := c.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: exp}, newEvent("t", `{}`))
		return err
	}

	// no_stream
	wr := mustAppend(t, c, "ns", esdb.NoStream{}, newEvent("t", `{}`), newEvent("t", `{}`))
	if wr.NextExpectedVersion != 1 {
		t.Fatalf("no_stream on a new stream: got revision %d, want 1", wr.NextExpectedVersion)
	}
	wantWrongExpected(t, appendErr("ns", esdb.NoStream{}), "no_stream", "1")

	// exact revision
	wantWrongExpected(t, appendErr("rev", esdb.Revision(0)), "0", "no_stream")
	mustAppend(t, c, "rev", esdb.NoStream{}, newEvent("t", `{}`))
	wr = mustAppend(t, c, "rev", esdb.Revision(0), newEvent("t", `{}`))
	if wr.NextExpectedVersion != 1 {
		t.Fatalf("revision 0: got revision %d, want 1", wr.NextExpectedVersion)
	}
	wantWrongExpected(t, appendErr("rev", esdb.Revision(0)), "0", "1")
	wantWrongExpected(t, appendErr("rev", esdb.Revision(5)), "5", "1")
	mustAppend(t, c, "rev", esdb.Revision(1), newEvent("t", `{}`))

	// stream_exists
	wantWrongExpected(t, appendErr("se", esdb.StreamExists{}), "stream_exists", "no_stream")
	mustAppend(t, c, "se", esdb.Any{}, newEvent("t", `{}`))
	wr = mustAppend(t, c, "se", esdb.StreamExists{}, newEvent("t", `{}`))
	if wr.NextExpectedVersion != 1 {
		t.Fatalf("stream_exists: got revision %d, want 1", wr.NextExpectedVersion)
	}

	// any
	for i := range 3 {
		wr = mustAppend(t, c, "any", esdb.Any{}, newEvent("t", `{}`))
		if wr.NextExpectedVersion != uint64(i) {
			t.Fatalf("any #%d: got revision %d, want %d", i, wr.NextExpectedVersion, i)
		}
	}

	st := srv.Stats()
	if st.Conflicts != 5 || st.Events != 10 {
		t.Fatalf("got %d conflicts and %d events, want 5 and 10", st.Conflicts, st.Events)
	}
}

// The client shows WrongExpectedVersion as text; the wire carries the
// revisions, in the current fields and in the 20.6.0 ones.
func TestWrongExpectedVersionOnTheWire(t *testing.T) {
	srv := mustStart(t, standin.Options{})
	mustAppend(t, mustClient(t, srv, ""), "s", esdb.NoStream{}, newEvent("t", `{}`))
	streams := api.NewStreamsClient(mustRaw(t, srv))

	appendRaw := func(stream string, exp any) *api.AppendResp_WrongExpectedVersion {
		t.Helper()
		call, err := streams.Append(testContext(t))
		if err != nil {
			t.Fatal(err)
		}
		opts := &api.AppendReq_Options{StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(stream)}}
		switch v := exp.(type) {
		case uint64:
			opts.ExpectedStreamRevision = &api.AppendReq_Options_Revision{Revision: v}
		case string:
			opts.ExpectedStreamRevision = &api.AppendReq_Options_NoStream{NoStream: &shared.Empty{}}
		}
		if err := call.Send(&api.AppendReq{Content: &api.AppendReq_Options_{Options: opts}}); err != nil {
			t.Fatal(err)
		}
		id := uuid.New()
		if err := call.Send(&api.AppendReq{Content: &api.AppendReq_ProposedMessage_{ProposedMessage: &api.AppendReq_ProposedMessage{
			Id:       &shared.UUID{Value: &shared.UUID_String_{String_: id.String()}},
			Metadata: map[string]string{"type": "t", "content-type": "application/json"},
			Data:     []byte(`{}`),
		}}}); err != nil {
			t.Fatal(err)
		}
		resp, err := call.CloseAndRecv()
		if err != nil {
			t.Fatal(err)
		}
		w := resp.GetWrongExpectedVersion()
		if w == nil {
			t.Fatalf("got %v, want WrongExpectedVersion", resp)
		}
		return w
	}

	w := appendRaw("s", uint64(7))
	if w.GetCurrentRevision() != 0 || w.GetCurrentNoStream() != nil || w.GetExpectedRevision() != 7 ||
		w.GetCurrentRevision_20_6_0() != 0 || w.GetExpectedRevision_20_6_0() != 7 {
		t.Fatalf("got %v, want current revision 0 and expected 7 in both field sets", w)
	}
	w = appendRaw("s", "no_stream")
	if w.GetExpectedNoStream() == nil || w.GetCurrentRevision() != 0 {
		t.Fatalf("got %v, want expected no_stream, current 0", w)
	}
	w = appendRaw("missing", uint64(3))
	if w.GetCurrentNoStream() == nil || w.GetNoStream_20_6_0() == nil || w.GetExpectedRevision() != 3 {
		t.Fatalf("got %v, want current no_stream in both field sets, expected 3", w)
	}
}

func TestIdempotentAppend(t *testing.T) {
	srv := mustStart(t, standin.Options{})
	c := mustClient(t, srv, "")
	ctx := testContext(t)
	e1, e2, e3 := newEvent("t", `{"n":1}`), newEvent("t", `{"n":2}`), newEvent("t", `{"n":3}`)

	first := mustAppend(t, c, "s", esdb.NoStream{}, e1, e2)
	same := func(what string, got *esdb.WriteResult, want *esdb.WriteResult) {
		t.Helper()
		if *got != *want {
			t.Fatalf("%s: got %+v, want the original %+v", what, *got, *want)
		}
	}
	same("replay at no_stream", mustAppend(t, c, "s", esdb.NoStream{}, e1, e2), first)
	same("replay with any", mustAppend(t, c, "s", esdb.Any{}, e1, e2), first)
	same("replay with stream_exists", mustAppend(t, c, "s", esdb.StreamExists{}, e1, e2), first)

	third := mustAppend(t, c, "s", esdb.Revision(1), e3)
	same("replay at revision 1", mustAppend(t, c, "s", esdb.Revision(1), e3), third)
	// The second event alone, at its own place.
	if wr := mustAppend(t, c, "s", esdb.Revision(0), e2); wr.NextExpectedVersion != 1 {
		t.Fatalf("replay of e2 at revision 0: got revision %d, want 1", wr.NextExpectedVersion)
	}

	// Same ids at another place: a conflict, not a replay.
	_, err := c.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(0)}, e1)
	wantWrongExpected(t, err, "0", "2")
	// Only a prefix the same ("corrupted idempotency"): a conflict.
	_, err = c.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, e1, newEvent("t", `{}`))
	wantWrongExpected(t, err, "no_stream", "2")
	_, err = c.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, e1, newEvent("t", `{}`))
	wantWrongExpected(t, err, "any", "2")

	// The same id in another stream is another event.
	if wr := mustAppend(t, c, "other", esdb.Any{}, e1); wr.NextExpectedVersion != 0 {
		t.Fatalf("e1 in another stream: got revision %d, want 0", wr.NextExpectedVersion)
	}

	got, err := readStream(t, c, "s", esdb.ReadStreamOptions{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].EventID != e1.EventID || got[1].EventID != e2.EventID || got[2].EventID != e3.EventID {
		t.Fatalf("got %s, want e1 e2 e3 once each", names(got))
	}
	if st := srv.Stats(); st.IdempotentAppends != 5 || st.Appends != 3 || st.Events != 4 {
		t.Fatalf("got %+v, want 5 idempotent appends, 3 appends, 4 events", st)
	}
}

func TestReadStream(t *testing.T) {
	when := time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.UTC)
	srv := mustStart(t, standin.Options{Now: func() time.Time { return when }})
	c := mustClient(t, srv, "")

	var sent []esdb.EventData
	var last *esdb.WriteResult
	for i := range 5 {
		e := newEvent(fmt.Sprintf("type-%d", i), fmt.Sprintf(`{"i":%d}`, i))
		if i == 3 {
			e.ContentType = esdb.ContentTypeBinary
			e.Data = []byte{0, 1, 2, 255}
			e.Metadata = nil
		}
		sent = append(sent, e)
		last = mustAppend(t, c, "unit-1", esdb.Any{}, e)
	}
	mustAppend(t, c, "unit-2", esdb.Any{}, newEvent("t", `{}`))

	got, err := readStream(t, c, "unit-1", esdb.ReadStreamOptions{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("got %s, want 5 events", names(got))
	}
	wantCreated := time.Unix(0, when.UnixNano()/100*100).UTC()
	for i, e := range got {
		s := sent[i]
		ct := "application/json"
		if s.ContentType == esdb.ContentTypeBinary {
			ct = "application/octet-stream"
		}
		if e.EventID != s.EventID || e.EventType != s.EventType || e.ContentType != ct ||
			!bytes.Equal(e.Data, s.Data) || !bytes.Equal(e.UserMetadata, s.Metadata) ||
			e.StreamID != "unit-1" || e.EventNumber != uint64(i) {
			t.Errorf("event %d: got %+v, want %+v with content type %s", i, e, s, ct)
		}
		if !e.CreatedDate.Equal(wantCreated) {
			t.Errorf("event %d: got created %v, want %v", i, e.CreatedDate, wantCreated)
		}
		if got, want := e.SystemMetadata["created"], strconv.FormatInt(when.UnixNano()/100, 10); got != want {
			t.Errorf("event %d: got created metadata %q, want %q (ticks since the Unix epoch)", i, got, want)
		}
		if len(e.SystemMetadata) != 3 {
			t.Errorf("event %d: got system metadata %v, want type, content-type, created", i, e.SystemMetadata)
		}
	}
	if got[4].Position.Commit != last.CommitPosition || got[4].Position.Prepare != last.PreparePosition {
		t.Errorf("got position %+v for the last event, want the append's %+v", got[4].Position, last)
	}

	cases := []struct {
		name  string
		opts  esdb.ReadStreamOptions
		count uint64
		want  []uint64
	}{
		{"forwards from start, 2", esdb.ReadStreamOptions{From: esdb.Start{}}, 2, []uint64{0, 1}},
		{"forwards from revision 2", esdb.ReadStreamOptions{From: esdb.Revision(2)}, 2, []uint64{2, 3}},
		{"forwards from revision 4", esdb.ReadStreamOptions{From: esdb.Revision(4)}, 10, []uint64{4}},
		{"forwards beyond the end", esdb.ReadStreamOptions{From: esdb.Revision(9)}, 10, nil},
		{"forwards from end", esdb.ReadStreamOptions{From: esdb.End{}}, 10, nil},
		{"backwards from end", esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 2, []uint64{4, 3}},
		{"backwards from revision 1", esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.Revision(1)}, 10, []uint64{1, 0}},
		{"backwards from beyond the end", esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.Revision(99)}, 2, []uint64{4, 3}},
		{"backwards from start", esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.Start{}}, 10, []uint64{0}},
	}
	for _, tc := range cases {
		got, err := readStream(t, c, "unit-1", tc.opts, tc.count)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var revs []uint64
		for _, e := range got {
			revs = append(revs, e.EventNumber)
		}
		if fmt.Sprint(revs) != fmt.Sprint(tc.want) {
			t.Errorf("%s: got revisions %v, want %v", tc.name, revs, tc.want)
		}
	}
}

func TestReadStreamNotFound(t *testing.T) {
	srv := mustStart(t, standin.Options{})
	c := mustClient(t, srv, "")
	for _, dir := range []esdb.Direction{esdb.Forwards, esdb.Backwards} {
		got, err := readStream(t, c, "nothing-here", esdb.ReadStreamOptions{Direction: dir}, 10)
		var esErr *esdb.Error
		if len(got) != 0 || !errors.As(err, &esErr) || esErr.Code() != esdb.ErrorCodeResourceNotFound {
			t.Fatalf("direction %d: got %s, %v; want no event and ErrorCodeResourceNotFound", dir, names(got), err)
		}
	}
}

// appendMixed appends n events, one per append: every third to
// dispo-unit-<i>, the others to other-<i>. It returns their positions.
func appendMixed(tb testing.TB, c *esdb.Client, from, n int) []uint64 {
	tb.Helper()
	var pos []uint64
	for i := from; i < from+n; i++ {
		stream, typ := fmt.Sprintf("other-%d", i), "other.happened"
		if i%3 == 0 {
			stream, typ = fmt.Sprintf("dispo-unit-%d", i), "unit.declared"
		}
		pos = append(pos, mustAppend(tb, c, stream, esdb.Any{}, newEvent(typ, `{}`)).CommitPosition)
	}
	return pos
}

func TestReadAll(t *testing.T) {
	srv := mustStart(t, standin.Options{})
	c := mustClient(t, srv, "")
	pos := appendMixed(t, c, 0, 12)

	if pos[0] != standin.FirstPosition {
		t.Errorf("got first position %d, want %d", pos[0], standin.FirstPosition)
	}
	for i := 1; i < len(pos); i++ {
		if pos[i] <= pos[i-1]+1 {
			t.Errorf("got positions %d then %d, want increasing and sparse", pos[i-1], pos[i])
		}
	}

	all := readAll(t, c, esdb.ReadAllOptions{}, 100)
	if len(all) != 12 {
		t.Fatalf("got %s, want 12 events", names(all))
	}
	for i, e := range all {
		if e.Position.Commit != pos[i] || e.Position.Prepare != pos[i] {
			t.Errorf("event %d: got position %+v, want %d", i, e.Position, pos[i])
		}
	}
	at := func(is ...int) string {
		var want []*esdb.RecordedEvent
		for _, i := range is {
			want = append(want, all[i])
		}
		return names(want)
	}
	cases := []struct {
		name  string
		opts  esdb.ReadAllOptions
		count uint64
		want  string
	}{
		{"forwards from a position (inclusive)", esdb.ReadAllOptions{From: esdb.Position{Commit: pos[5], Prepare: pos[5]}}, 3, at(5, 6, 7)},
		{"forwards from between positions", esdb.ReadAllOptions{From: esdb.Position{Commit: pos[5] + 1, Prepare: pos[5] + 1}}, 2, at(6, 7)},
		{"forwards from end", esdb.ReadAllOptions{From: esdb.End{}}, 3, ""},
		{"backwards from end", esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, 3, at(11, 10, 9)},
		{"backwards from a position (exclusive)", esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.Position{Commit: pos[5], Prepare: pos[5]}}, 3, at(4, 3, 2)},
		{"backwards from start", esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.Start{}}, 3, ""},
	}
	for _, tc := range cases {
		if got := names(readAll(t, c, tc.opts, tc.count)); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// The client's ReadAll sends no filter; the protocol has one, which the
// stand-in serves. Checked here with the raw stub.
func TestReadAllFilteredOnTheWire(t *testing.T) {
	srv := mustStart(t, standin.Options{})
	c := mustClient(t, srv, "")
	pos := appendMixed(t, c, 0, 12)
	streams := api.NewStreamsClient(mustRaw(t, srv))

	read := func(from *api.ReadReq_Options_AllOptions, dir api.ReadReq_Options_ReadDirection, count uint64, fo *api.ReadReq_Options_FilterOptions) []string {
		t.Helper()
		call, err := streams.Read(testContext(t), &api.ReadReq{Options: &api.ReadReq_Options{
			StreamOption:  &api.ReadReq_Options_All{All: from},
			ReadDirection: dir,
			CountOption:   &api.ReadReq_Options_Count{Count: count},
			FilterOption:  &api.ReadReq_Options_Filter{Filter: fo},
			UuidOption:    &api.ReadReq_Options_UUIDOption{Content: &api.ReadReq_Options_UUIDOption_String_{String_: &shared.Empty{}}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for {
			resp, err := call.Recv()
			if errors.Is(err, io.EOF) {
				return got
			}
			if err != nil {
				t.Fatal(err)
			}
			ev := resp.GetEvent().GetEvent()
			if ev == nil {
				t.Fatalf("got %v, want only events", resp)
			}
			if _, err := uuid.Parse(ev.GetId().GetString_()); err != nil {
				t.Fatalf("got id %v, want the string form asked for", ev.GetId())
			}
			got = append(got, fmt.Sprintf("%s@%d", ev.GetStreamIdentifier().GetStreamName(), ev.GetCommitPosition()))
		}
	}
	start := &api.ReadReq_Options_AllOptions{AllOption: &api.ReadReq_Options_AllOptions_Start{Start: &shared.Empty{}}}
	end := &api.ReadReq_Options_AllOptions{AllOption: &api.ReadReq_Options_AllOptions_End{End: &shared.Empty{}}}
	at := func(p uint64) *api.ReadReq_Options_AllOptions {
		return &api.ReadReq_Options_AllOptions{AllOption: &api.ReadReq_Options_AllOptions_Position{
			Position: &api.ReadReq_Options_Position{CommitPosition: p, PreparePosition: p}}}
	}
	onStream := func(re string, prefixes ...string) *api.ReadReq_Options_FilterOptions {
		return &api.ReadReq_Options_FilterOptions{Filter: &api.ReadReq_Options_FilterOptions_StreamIdentifier{
			StreamIdentifier: &api.ReadReq_Options_FilterOptions_Expression{Regex: re, Prefix: prefixes}}}
	}
	onType := func(re string, prefixes ...string) *api.ReadReq_Options_FilterOptions {
		return &api.ReadReq_Options_FilterOptions{Filter: &api.ReadReq_Options_FilterOptions_EventType{
			EventType: &api.ReadReq_Options_FilterOptions_Expression{Regex: re, Prefix: prefixes}}}
	}
	fwd, back := api.ReadReq_Options_Forwards, api.ReadReq_Options_Backwards
	u := func(i int) string { return fmt.Sprintf("dispo-unit-%d@%d", i, pos[i]) }
	o := func(i int) string { return fmt.Sprintf("other-%d@%d", i, pos[i]) }

	cases := []struct {
		name string
		got  []string
		want []string
	}{
		{"prefix, from start", read(start, fwd, 3, onStream("", "dispo-unit-")), []string{u(0), u(3), u(6)}},
		{"prefix, from a position", read(at(pos[4]), fwd, 10, onStream("", "dispo-unit-")), []string{u(6), u(9)}},
		{"two prefixes", read(start, fwd, 3, onStream("", "other-1", "dispo-unit-9")), []string{o(1), u(9), o(10)}},
		{"prefix, backwards from end", read(end, back, 2, onStream("", "dispo-unit-")), []string{u(9), u(6)}},
		{"regex", read(start, fwd, 10, onStream(`^other-1\d$`)), []string{o(10), o(11)}},
		{"event type prefix", read(at(pos[7]), fwd, 10, onType("", "unit.")), []string{u(9)}},
		{"event type regex", read(start, fwd, 2, onType(`declared$`)), []string{u(0), u(3)}},
	}
	for _, tc := range cases {
		if fmt.Sprint(tc.got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestServerFeaturesAndUnimplemented(t *testing.T) {
	srv := mustStart(t, standin.Options{ServerVersion: "23.10.1"})
	c := mustClient(t, srv, "")
	v, err := c.GetServerVersion()
	if err != nil || *v != (esdb.ServerVersion{Major: 23, Minor: 10, Patch: 1}) {
		t.Fatalf("got version %+v, %v; want 23.10.1", v, err)
	}

	ctx := testContext(t)
	mustAppend(t, c, "s", esdb.NoStream{}, newEvent("t", `{}`))
	unsupported := func(what string, err error) {
		t.Helper()
		var esErr *esdb.Error
		if !errors.As(err, &esErr) || esErr.Code() != esdb.ErrorCodeUnsupportedFeature {
			t.Errorf("%s: got %v, want ErrorCodeUnsupportedFeature (gRPC Unimplemented)", what, err)
		}
	}
	_, err = c.DeleteStream(ctx, "s", esdb.DeleteStreamOptions{})
	unsupported("DeleteStream", err)
	_, err = c.TombstoneStream(ctx, "s", esdb.TombstoneStreamOptions{})
	unsupported("TombstoneStream", err)

	_, err = gossipapi.NewGossipClient(mustRaw(t, srv)).Read(ctx, &shared.Empty{})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("gossip: got %v, want Unimplemented", err)
	}
	// The calls above leave the client usable.
	mustAppend(t, c, "s", esdb.Revision(0), newEvent("t", `{}`))
}
