package standin_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"dispo/adapters/esdblog/standin"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"golang.org/x/net/http2"
	"google.golang.org/grpc"
)

// pings opens a bare HTTP/2 connection, sends n pings every interval with no
// call in flight, and reports how many were acknowledged and the debug data
// of a GOAWAY, if the server sent one.
func pings(tb testing.TB, addr string, n int, interval time.Duration) (acks int, goaway string) {
	tb.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		tb.Fatal(err)
	}
	w := http2.NewFramer(conn, nil)
	if err := w.WriteSettings(); err != nil {
		tb.Fatal(err)
	}
	var acked atomic.Int64
	var away atomic.Value
	settings := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := http2.NewFramer(nil, conn)
		for {
			f, err := r.ReadFrame()
			if err != nil {
				return
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if !f.IsAck() {
					settings <- struct{}{}
				}
			case *http2.PingFrame:
				if f.IsAck() {
					acked.Add(1)
				}
			case *http2.GoAwayFrame:
				away.Store(string(f.DebugData()))
			}
		}
	}()
	select {
	case <-settings:
	case <-time.After(5 * time.Second):
		tb.Fatal("no SETTINGS from the server")
	}
	if err := w.WriteSettingsAck(); err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		if err := w.WritePing(false, [8]byte{byte(i)}); err != nil {
			break // the server hung up
		}
		time.Sleep(interval)
	}
	time.Sleep(100 * time.Millisecond)
	conn.Close()
	<-done
	goaway, _ = away.Load().(string)
	return int(acked.Load()), goaway
}

// grpc-go's default server policy hangs up on a client that pings without
// calls in flight; the stand-in must not, or the client's keepalive pings
// (every 10 s, calls or not) would cost it its connection.
func TestPingsWithoutCallsAccepted(t *testing.T) {
	// The control: a default grpc.Server answers GOAWAY "too_many_pings".
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	def := grpc.NewServer()
	go def.Serve(lis) //nolint:errcheck
	defer def.Stop()
	if _, away := pings(t, lis.Addr().String(), 10, 10*time.Millisecond); away != "too_many_pings" {
		t.Fatalf("default grpc.Server: got GOAWAY %q, want \"too_many_pings\" (the test cannot see the policy)", away)
	}

	srv := mustStart(t, standin.Options{})
	acks, away := pings(t, srv.Addr(), 50, 10*time.Millisecond)
	if away != "" || acks != 50 {
		t.Fatalf("got %d acks and GOAWAY %q, want 50 acks and no GOAWAY", acks, away)
	}
}

// The real client with a short keepalive (grpc-go raises it to its 10 s
// floor) and a 1 s ack timeout stays on its one connection over an idle
// spell with a ping in it, its subscription still live.
func TestClientKeepalive(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 12 s for the client's keepalive ping")
	}
	t.Parallel()
	srv := mustStart(t, standin.Options{})
	c := mustClient(t, srv, "&keepAliveInterval=1000&keepAliveTimeout=1000")
	ctx, cancel := context.WithCancel(context.Background()) // outlives callTimeout
	defer cancel()
	sub, err := c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: esdb.End{}})
	if err != nil {
		t.Fatal(err)
	}
	ch := feed(t, sub)
	wantSeq(t, take(t, ch, 1), []string{"caught up"})

	before := srv.BytesReceived()
	time.Sleep(12 * time.Second)
	if got := srv.BytesReceived() - before; got < 17 { // a PING frame is 17 bytes
		t.Fatalf("got %d bytes from the client while idle, want a keepalive ping (17)", got)
	}
	wr := mustAppend(t, c, "s", esdb.Any{}, newEvent("t", `{}`))
	wantSeq(t, take(t, ch, 1), []string{describeAt("s", 0, wr.CommitPosition)})
	if n := srv.Stats().Connections; n != 1 {
		t.Fatalf("got %d connections, want the client's first one only", n)
	}
}
