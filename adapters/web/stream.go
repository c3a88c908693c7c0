package web

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// stream is the live feed of the consultation screens (Server-Sent
// Events): an event "position" each time the projections move, and a
// comment every KeepAlive when nothing does. A page reloads its main
// element on "position"; the browser's EventSource reconnects by itself
// when the stream drops, and the page says so meanwhile.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// A wall screen stays open for days: the server's write timeout is for
	// pages, not for this stream.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil {
		s.log.Warn("live stream: cannot lift the write deadline", "err", err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // proxies must not hold events back
	w.WriteHeader(http.StatusOK)
	s.streamsMu.Lock()
	s.streams++
	s.streamsMu.Unlock()
	defer func() {
		s.streamsMu.Lock()
		s.streams--
		s.streamsMu.Unlock()
	}()

	// The stream ends with the request or when the server shuts down
	// (EndStreams): the page's EventSource then reconnects, to this
	// server once it is back or to another replica.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(s.ending, cancel)()

	pos := s.cfg.Live.Position()
	if _, err := w.Write([]byte("retry: 2000\nevent: position\ndata: " + strconv.FormatUint(pos, 10) + "\n\n")); err != nil {
		return
	}
	rc.Flush()
	for {
		wctx, wcancel := context.WithTimeout(ctx, s.cfg.KeepAlive)
		err := s.cfg.Live.WaitFor(wctx, pos+1)
		wcancel()
		if ctx.Err() != nil {
			return
		}
		if !s.stillValid(r) {
			return // a revoked display link: the page says so at its next refresh
		}
		var msg string
		if err == nil {
			pos = s.cfg.Live.Position()
			msg = "event: position\ndata: " + strconv.FormatUint(pos, 10) + "\n\n"
		} else {
			msg = ": keep-alive\n\n"
		}
		if _, err := w.Write([]byte(msg)); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// EndStreams ends the live streams open and those opened later: call it
// when the server shuts down (http.Server.RegisterOnShutdown), which waits
// for every request to end.
func (s *Server) EndStreams() { s.endStreams() }

// Streams is how many live streams are open.
func (s *Server) Streams() int {
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	return s.streams
}

func (s *Server) staticPage(name, title string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, name, title, false, s.cfg.Support)
	}
}
