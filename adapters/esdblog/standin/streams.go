package standin

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"regexp"
	"strconv"
	"sync"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Metadata keys and content types of the protocol.
const (
	metaType        = "type"
	metaContentType = "content-type"
	metaCreated     = "created"
	contentJSON     = "application/json"
	contentBinary   = "application/octet-stream"
)

// defaultSearchWindow is the checkpoint interval unit when the request gives
// no max search window (the client's default window is also 32).
const defaultSearchWindow = 32

// streamsService implements event_store.client.streams.Streams: Append and
// Read. Delete, Tombstone and BatchAppend answer Unimplemented.
type streamsService struct {
	api.UnimplementedStreamsServer
	srv *Server
}

func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, "standin: "+format, args...)
}

// Append reads the options message, then proposed messages until the client
// closes its side, then decides and answers.
func (h *streamsService) Append(call api.Streams_AppendServer) error {
	first, err := call.Recv()
	if err != nil {
		return err
	}
	opts := first.GetOptions()
	if opts == nil {
		return invalid("append: the first message must be the options")
	}
	stream := string(opts.GetStreamIdentifier().GetStreamName())
	if stream == "" {
		return invalid("append: no stream name")
	}
	var exp expectation
	switch v := opts.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_Any:
		exp.kind = expectAny
	case *api.AppendReq_Options_NoStream:
		exp.kind = expectNoStream
	case *api.AppendReq_Options_StreamExists:
		exp.kind = expectStreamExists
	case *api.AppendReq_Options_Revision:
		exp = expectation{kind: expectRevision, revision: v.Revision}
	default:
		return invalid("append: no expected revision")
	}

	var proposed []*record
	for {
		msg, err := call.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		p := msg.GetProposedMessage()
		if p == nil {
			return invalid("append: options sent twice")
		}
		r, err := proposedRecord(p)
		if err != nil {
			return err
		}
		proposed = append(proposed, r)
	}

	failBefore, loseAfter := h.srv.takeAppendFault()
	if failBefore {
		h.srv.injected.Add(1)
		return status.Error(codes.Unavailable, "standin: injected append failure, nothing written")
	}
	if err := call.Context().Err(); err != nil {
		return status.FromContextError(err).Err()
	}
	created := h.srv.now().UnixNano() / 100
	for _, r := range proposed {
		r.created = created
	}
	out := h.srv.store.append(stream, exp, proposed)

	resp := &api.AppendResp{}
	switch out.kind {
	case outcomeWritten, outcomeIdempotent:
		if out.kind == outcomeWritten {
			h.srv.appends.Add(1)
		} else {
			h.srv.idempotent.Add(1)
		}
		resp.Result = &api.AppendResp_Success_{Success: &api.AppendResp_Success{
			CurrentRevisionOption: &api.AppendResp_Success_CurrentRevision{CurrentRevision: out.last.revision},
			PositionOption: &api.AppendResp_Success_Position{Position: &api.AppendResp_Position{
				CommitPosition:  out.last.position,
				PreparePosition: out.last.position,
			}},
		}}
	case outcomeEmpty:
		success := &api.AppendResp_Success{
			PositionOption: &api.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}},
		}
		if out.current < 0 {
			success.CurrentRevisionOption = &api.AppendResp_Success_NoStream{NoStream: &shared.Empty{}}
		} else {
			success.CurrentRevisionOption = &api.AppendResp_Success_CurrentRevision{CurrentRevision: uint64(out.current)}
		}
		resp.Result = &api.AppendResp_Success_{Success: success}
	case outcomeWrong:
		h.srv.conflicts.Add(1)
		resp.Result = &api.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: wrongExpectedVersion(exp, out.current)}
	}
	if loseAfter {
		h.srv.injected.Add(1)
		return status.Error(codes.Unavailable, "standin: injected lost reply, the append was decided")
	}
	return call.SendAndClose(resp)
}

// wrongExpectedVersion fills both the current fields and the 20.6.0 ones, as
// the node does.
func wrongExpectedVersion(exp expectation, current int64) *api.AppendResp_WrongExpectedVersion {
	w := &api.AppendResp_WrongExpectedVersion{}
	if current < 0 {
		w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
		w.CurrentRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_NoStream_20_6_0{NoStream_20_6_0: &shared.Empty{}}
	} else {
		w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: uint64(current)}
		w.CurrentRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_CurrentRevision_20_6_0{CurrentRevision_20_6_0: uint64(current)}
	}
	switch exp.kind {
	case expectAny:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_Any_20_6_0{Any_20_6_0: &shared.Empty{}}
	case expectStreamExists:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_StreamExists_20_6_0{StreamExists_20_6_0: &shared.Empty{}}
	case expectNoStream:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
		// The 20.6.0 fields had no "no stream": the node leaves them unset.
	case expectRevision:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: exp.revision}
		w.ExpectedRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_ExpectedRevision_20_6_0{ExpectedRevision_20_6_0: exp.revision}
	}
	return w
}

// proposedRecord checks a proposed message and keeps what the node keeps.
func proposedRecord(p *api.AppendReq_ProposedMessage) (*record, error) {
	id, err := parseUUID(p.GetId())
	if err != nil {
		return nil, err
	}
	typ, ok := p.GetMetadata()[metaType]
	if !ok {
		return nil, invalid("append: event %s: required metadata %q missing", id, metaType)
	}
	ct, ok := p.GetMetadata()[metaContentType]
	if !ok {
		return nil, invalid("append: event %s: required metadata %q missing", id, metaContentType)
	}
	return &record{
		id:   id,
		typ:  typ,
		json: ct == contentJSON,
		data: clone(p.GetData()),
		meta: clone(p.GetCustomMetadata()),
	}, nil
}

func clone(b []byte) []byte {
	return append([]byte{}, b...)
}

func parseUUID(u *shared.UUID) (uuid.UUID, error) {
	switch v := u.GetValue().(type) {
	case *shared.UUID_Structured_:
		var id uuid.UUID
		binary.BigEndian.PutUint64(id[:8], uint64(v.Structured.GetMostSignificantBits()))
		binary.BigEndian.PutUint64(id[8:], uint64(v.Structured.GetLeastSignificantBits()))
		return id, nil
	case *shared.UUID_String_:
		id, err := uuid.Parse(v.String_)
		if err != nil {
			return uuid.Nil, invalid("append: event id %q: %v", v.String_, err)
		}
		return id, nil
	}
	return uuid.Nil, invalid("append: event without an id")
}

// Read serves reads (count option) and catch-up subscriptions (subscription
// option).
func (h *streamsService) Read(req *api.ReadReq, call api.Streams_ReadServer) error {
	opts := req.GetOptions()
	if opts == nil {
		return invalid("read: no options")
	}
	stringIDs := opts.GetUuidOption().GetString_() != nil
	f, err := readFilter(opts)
	if err != nil {
		return err
	}
	if opts.GetSubscription() != nil {
		if opts.GetReadDirection() != api.ReadReq_Options_Forwards {
			return invalid("subscribe: subscriptions go forwards")
		}
		return h.subscribe(call, opts, f, stringIDs)
	}
	cnt, ok := opts.GetCountOption().(*api.ReadReq_Options_Count)
	if !ok {
		return invalid("read: neither a count nor subscription options")
	}
	h.srv.reads.Add(1)
	forwards := opts.GetReadDirection() == api.ReadReq_Options_Forwards
	switch {
	case opts.GetStream() != nil:
		return h.readStream(call, opts.GetStream(), forwards, cnt.Count, stringIDs)
	case opts.GetAll() != nil:
		return h.readAll(call, opts.GetAll(), forwards, cnt.Count, f, stringIDs)
	}
	return invalid("read: neither a stream nor $all")
}

func (h *streamsService) readStream(call api.Streams_ReadServer, so *api.ReadReq_Options_StreamOptions, forwards bool, count uint64, stringIDs bool) error {
	name := string(so.GetStreamIdentifier().GetStreamName())
	events, ok := h.srv.store.stream(name)
	if !ok {
		return call.Send(&api.ReadResp{Content: &api.ReadResp_StreamNotFound_{
			StreamNotFound: &api.ReadResp_StreamNotFound{
				StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(name)},
			},
		}})
	}
	last := uint64(len(events) - 1)
	var from uint64
	switch v := so.GetRevisionOption().(type) {
	case *api.ReadReq_Options_StreamOptions_Start:
		from = 0
	case *api.ReadReq_Options_StreamOptions_End:
		if forwards {
			return nil // nothing after the end
		}
		from = last
	case *api.ReadReq_Options_StreamOptions_Revision:
		from = v.Revision
	default:
		return invalid("read: no revision option")
	}
	if forwards {
		for i := from; i <= last && count > 0; i, count = i+1, count-1 {
			if err := call.Send(eventResp(events[i], stringIDs)); err != nil {
				return err
			}
		}
		return nil
	}
	i := int64(min(from, last))
	for ; i >= 0 && count > 0; i, count = i-1, count-1 {
		if err := call.Send(eventResp(events[i], stringIDs)); err != nil {
			return err
		}
	}
	return nil
}

func (h *streamsService) readAll(call api.Streams_ReadServer, ao *api.ReadReq_Options_AllOptions, forwards bool, count uint64, f *filter, stringIDs bool) error {
	all := h.srv.store.snapshot()
	var i int // forwards: first index to send; backwards: one past it
	switch v := ao.GetAllOption().(type) {
	case *api.ReadReq_Options_AllOptions_Start:
		i = 0
	case *api.ReadReq_Options_AllOptions_End:
		i = len(all)
	case *api.ReadReq_Options_AllOptions_Position:
		i = indexAtOrAfter(all, v.Position.GetCommitPosition())
	default:
		return invalid("read: no $all position option")
	}
	send := func(r *record) error {
		if !f.match(r) {
			return nil
		}
		count--
		return call.Send(eventResp(r, stringIDs))
	}
	if forwards {
		for ; i < len(all) && count > 0; i++ {
			if err := send(all[i]); err != nil {
				return err
			}
		}
		return nil
	}
	for i--; i >= 0 && count > 0; i-- {
		if err := send(all[i]); err != nil {
			return err
		}
	}
	return nil
}

// readFilter compiles the request's filter; nil when there is none.
func readFilter(opts *api.ReadReq_Options) (*filter, error) {
	fo := opts.GetFilter()
	if fo == nil {
		return nil, nil
	}
	var expr *api.ReadReq_Options_FilterOptions_Expression
	f := &filter{}
	switch v := fo.GetFilter().(type) {
	case *api.ReadReq_Options_FilterOptions_StreamIdentifier:
		expr = v.StreamIdentifier
	case *api.ReadReq_Options_FilterOptions_EventType:
		expr, f.onType = v.EventType, true
	default:
		return nil, invalid("filter: neither on stream name nor on event type")
	}
	if expr.GetRegex() != "" {
		re, err := regexp.Compile(expr.GetRegex())
		if err != nil {
			return nil, invalid("filter: %v", err)
		}
		f.re = re
	} else {
		f.prefixes = expr.GetPrefix()
	}
	return f, nil
}

func eventResp(r *record, stringIDs bool) *api.ReadResp {
	ct := contentBinary
	if r.json {
		ct = contentJSON
	}
	var id *shared.UUID
	if stringIDs {
		id = &shared.UUID{Value: &shared.UUID_String_{String_: r.id.String()}}
	} else {
		id = &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
			MostSignificantBits:  int64(binary.BigEndian.Uint64(r.id[:8])),
			LeastSignificantBits: int64(binary.BigEndian.Uint64(r.id[8:])),
		}}}
	}
	return &api.ReadResp{Content: &api.ReadResp_Event{Event: &api.ReadResp_ReadEvent{
		Event: &api.ReadResp_ReadEvent_RecordedEvent{
			Id:               id,
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(r.stream)},
			StreamRevision:   r.revision,
			PreparePosition:  r.position,
			CommitPosition:   r.position,
			Metadata: map[string]string{
				metaType:        r.typ,
				metaContentType: ct,
				metaCreated:     strconv.FormatInt(r.created, 10),
			},
			CustomMetadata: r.meta,
			Data:           r.data,
		},
		Position: &api.ReadResp_ReadEvent_CommitPosition{CommitPosition: r.position},
	}}}
}

// subscription is an open catch-up subscription, for DropSubscriptions.
type subscription struct {
	once    sync.Once
	dropped chan struct{}
}

func (s *subscription) drop() (first bool) {
	s.once.Do(func() {
		close(s.dropped)
		first = true
	})
	return first
}

func (h *streamsService) subscribe(call api.Streams_ReadServer, opts *api.ReadReq_Options, f *filter, stringIDs bool) error {
	ctx := call.Context()
	store := h.srv.store

	// next returns the events after the cursor and the channel the next
	// write closes; advance moves the cursor past n events.
	var next func() ([]*record, <-chan struct{})
	var advance func(n int)
	interval := 0 // checkpoint every interval events scanned; 0: never

	switch {
	case opts.GetStream() != nil:
		so := opts.GetStream()
		name := string(so.GetStreamIdentifier().GetStreamName())
		var rev uint64
		switch v := so.GetRevisionOption().(type) {
		case *api.ReadReq_Options_StreamOptions_Start:
			rev = 0
		case *api.ReadReq_Options_StreamOptions_End:
			events, _ := store.stream(name)
			rev = uint64(len(events))
		case *api.ReadReq_Options_StreamOptions_Revision:
			rev = v.Revision + 1 // after it
		default:
			return invalid("subscribe: no revision option")
		}
		f = nil // filters are for $all
		next = func() ([]*record, <-chan struct{}) { return store.streamFrom(name, rev) }
		advance = func(n int) { rev += uint64(n) }

	case opts.GetAll() != nil:
		var i int
		all := store.snapshot()
		switch v := opts.GetAll().GetAllOption().(type) {
		case *api.ReadReq_Options_AllOptions_Start:
			i = 0
		case *api.ReadReq_Options_AllOptions_End:
			i = len(all)
		case *api.ReadReq_Options_AllOptions_Position:
			i = indexAfter(all, v.Position.GetCommitPosition())
		default:
			return invalid("subscribe: no $all position option")
		}
		if f != nil {
			fo := opts.GetFilter()
			window := uint64(fo.GetMax())
			if window == 0 {
				window = defaultSearchWindow
			}
			interval = int(max(uint64(fo.GetCheckpointIntervalMultiplier()), 1) * window)
		}
		next = func() ([]*record, <-chan struct{}) { return store.allFrom(i) }
		advance = func(n int) { i += n }

	default:
		return invalid("subscribe: neither a stream nor $all")
	}

	sub := &subscription{dropped: make(chan struct{})}
	h.srv.addSub(sub)
	defer h.srv.removeSub(sub)

	if err := call.Send(&api.ReadResp{Content: &api.ReadResp_Confirmation{
		Confirmation: &api.ReadResp_SubscriptionConfirmation{SubscriptionId: uuid.NewString()},
	}}); err != nil {
		return err
	}
	h.srv.subscriptions.Add(1)

	scanned := 0
	caughtUp := false
	for {
		batch, changed := next()
		for _, r := range batch {
			if err := subscriptionGone(ctx, sub); err != nil {
				return err
			}
			if f.match(r) {
				if err := call.Send(eventResp(r, stringIDs)); err != nil {
					return err
				}
			}
			advance(1)
			scanned++
			if interval > 0 && scanned%interval == 0 {
				if err := call.Send(&api.ReadResp{Content: &api.ReadResp_Checkpoint_{Checkpoint: &api.ReadResp_Checkpoint{
					CommitPosition:  r.position,
					PreparePosition: r.position,
				}}}); err != nil {
					return err
				}
			}
		}
		if !caughtUp {
			caughtUp = true
			if err := call.Send(&api.ReadResp{Content: &api.ReadResp_CaughtUp_{CaughtUp: &api.ReadResp_CaughtUp{}}}); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-sub.dropped:
			return errDropped
		case <-changed:
		}
	}
}

var errDropped = status.Error(codes.Unavailable, "standin: subscription dropped")

func subscriptionGone(ctx context.Context, sub *subscription) error {
	select {
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	case <-sub.dropped:
		return errDropped
	default:
		return nil
	}
}
