package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"dispo/adapters/boltlog"
	"dispo/domain"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"
)

// A full disk: the served log cannot grow. Declarations then get 503 with
// Retry-After (they got 500), nothing acknowledged is lost, and once room
// is made the same server takes them again. The disk is filled by the
// child's file size limit (RLIMIT_FSIZE, set from outside with prlimit):
// the log's file cannot grow past it, as on a full disk, with neither root
// nor a small file system; the kernel answers EFBIG where a full disk
// answers ENOSPC, and both are the same "no room" to the log.
func TestFullDiskAnswers503AndLosesNothing(t *testing.T) {
	r := newCrashRig(t, 7)
	r.serveArg = []string{"serve", "--data", r.data, "--addr", "127.0.0.1:0", "--metrics-addr", "off", "--seal-every", "0"}
	c := r.start()
	defer c.kill()
	r.register(c)
	fi, err := os.Stat(logFile(r.data))
	if err != nil {
		t.Fatal(err)
	}
	limit := uint64(fi.Size())
	pid := c.cmd.Process.Pid
	if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: limit, Max: unix.RLIM_INFINITY}, nil); err != nil {
		t.Fatalf("prlimit: %v", err)
	}
	cl := r.clients[0]
	declare := func(i int) (int, http.Header, string) {
		body := fmt.Sprintf(`{"available":%d,"installed":40,"comment":"remplissage %d %s"}`, i%40, i, strings.Repeat("x", 200))
		req, _ := http.NewRequest("POST", c.base+"/api/v1/units/"+cl.units[0]+"/declarations", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+cl.token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", uuid.NewString())
		res, err := r.http.Do(req)
		if err != nil {
			t.Fatalf("declaration %d: %v", i, err)
		}
		defer res.Body.Close()
		var p struct {
			Code string `json:"code"`
		}
		json.NewDecoder(res.Body).Decode(&p)
		return res.StatusCode, res.Header, p.Code
	}
	acked, refused := 0, 0
	for i := 0; i < 20000 && refused == 0; i++ {
		status, hdr, code := declare(i)
		switch {
		case status == 200:
			acked++
		case status == 503 && hdr.Get("Retry-After") != "" && strings.HasPrefix(hdr.Get("Content-Type"), "application/problem+json"):
			refused++
			t.Logf("after %d declarations: 503 %s, Retry-After %s", acked, code, hdr.Get("Retry-After"))
		default:
			t.Fatalf("declaration %d on a full disk: %d %s (Retry-After %q)", i, status, code, hdr.Get("Retry-After"))
		}
	}
	if refused == 0 {
		t.Fatalf("%d declarations and the file never hit its limit of %d bytes", acked, limit)
	}
	if status, _, _ := declare(acked + 1); status != 503 {
		t.Fatalf("still full: %d", status)
	}
	// Room again: the same server goes on.
	if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}, nil); err != nil {
		t.Fatal(err)
	}
	if status, _, code := declare(acked); status != 200 {
		t.Fatalf("after room was made: %d %s", status, code)
	}
	acked++
	if err := c.stop(20 * time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	l, err := boltlog.Open(logFile(r.data), boltlog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	evs, err := l.ReadStreamForward(context.Background(), domain.UnitStream(cl.units[0]), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := 0
	for _, e := range evs {
		if _, ok := e.Event.(domain.AvailabilityDeclared); ok {
			declared++
		}
	}
	if declared != acked {
		t.Fatalf("%d declarations acknowledged, %d in the log", acked, declared)
	}
	if code, out, errOut := dispo(t, "", "verify", "--data", r.data); code != 0 {
		t.Fatalf("verify after the full disk: %d\n%s%s", code, out, errOut)
	}
}
