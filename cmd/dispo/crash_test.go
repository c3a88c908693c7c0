package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"dispo/adapters/esdblog/standin"
	"dispo/domain"

	"github.com/google/uuid"
)

// The crash trials: a real `dispo serve` under 16 concurrent clients, each
// owning the units of one establishment, killed at random moments (SIGKILL,
// or SIGTERM then SIGKILL mid-shutdown, or a clean stop), restarted, and its
// clients retrying what they were not answered, with the same keys, as a
// client does. After every restart the trial checks, on a hot backup of the
// log, that every acknowledged command is in the log exactly once, in its
// unit's stream at the position and revision it was answered with, that no
// revision is doubled, that verify finds the log intact, that the live
// projections answer as a rebuild from position 0 does, and that a unit
// closed stays closed. Some restarts find the projections snapshot deleted
// or damaged.
//
// DISPO_CRASH_TRIALS sets the number of trials (make crash TRIALS=1000);
// DISPO_CRASH_SEED replays a campaign; DISPO_CRASH_REPORT names a directory
// that receives the figures, one JSON file per test.

const (
	crashClients  = 16
	unitsPerOwner = 2
	crashPassword = "essai-de-panne-0123456789"
)

// crashCmd is one command as a client sends it, and what the client, the
// only writer of its units, knows it must do.
type crashCmd struct {
	unit, method, path, body string
	key, corr                string
	kind                     string
	events                   int    // events it appends if accepted
	refuse                   string // problem code it must get instead, if any
}

// ack is a command the server answered.
type ack struct {
	crashCmd
	client   int
	appended int
	replayed bool
	position uint64
	revision int64
	trial    int
}

type crashClient struct {
	id      int
	token   string
	finess  string
	units   []string
	closed  map[string]bool
	comment map[string]string
	pending *crashCmd
	rng     *rand.Rand
}

// crashStats are the campaign's figures.
type crashStats struct {
	Trials, Kills, TermKills, CleanStops, SnapshotsDeleted, SnapshotsDamaged int
	StoreRestarts, LostReplies                                               int
	Acknowledged, Replays, Refused, Retries                                  int
	Lost, Doubled, Misplaced, DuplicateRevisions, ClosedBroken, Divergent    int
	VerifyFailures, WrongAnswers                                             int
}

func (s crashStats) violations() int {
	return s.Lost + s.Doubled + s.Misplaced + s.DuplicateRevisions + s.ClosedBroken + s.Divergent + s.VerifyFailures + s.WrongAnswers
}

type crashRig struct {
	t        *testing.T
	dir      string
	data     string
	logPath  string
	rng      *rand.Rand
	http     *http.Client
	admin    string
	clients  []*crashClient
	mu       sync.Mutex
	acks     []ack
	stats    crashStats
	trial    int
	serveArg []string
	// store, when set, is the EventStoreDB stand-in the server runs on:
	// its trials also stop and restart the store under the running server.
	store *standin.Server
}

func envInt(key string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(key)); err == nil && n > 0 {
		return n
	}
	return def
}

func TestCrashTrials(t *testing.T) {
	trials := envInt("DISPO_CRASH_TRIALS", 20)
	seed := uint64(envInt("DISPO_CRASH_SEED", int(time.Now().UnixNano()%1e9)))
	t.Logf("crash trials: %d, seed %d (DISPO_CRASH_SEED=%d replays them)", trials, seed, seed)
	r := newCrashRig(t, seed)
	r.campaign(trials)
}

// The same trials on EventStoreDB (its stand-in: no real server runs
// here). The store keeps what it acknowledged across its restarts, as a
// node's disk does; the trials stop and restart it under the running
// server, lose append replies after the store wrote them, and kill the
// server, whose data directory holds only the position index checkpoint.
func TestCrashTrialsOnEventStore(t *testing.T) {
	trials := envInt("DISPO_CRASH_TRIALS", 12)
	seed := uint64(envInt("DISPO_CRASH_SEED", int(time.Now().UnixNano()%1e9)))
	t.Logf("crash trials on the EventStoreDB stand-in: %d, seed %d (DISPO_CRASH_SEED=%d replays them)", trials, seed, seed)
	store, err := standin.Start(standin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	r := newCrashRig(t, seed)
	r.store = store
	r.serveArg = append(r.serveArg, "--eventstore", store.URL())
	r.campaign(trials)
}

func newCrashRig(t *testing.T, seed uint64) *crashRig {
	dir := t.TempDir()
	r := &crashRig{t: t, dir: dir, data: filepath.Join(dir, "data"), logPath: filepath.Join(dir, "serve.log"),
		rng:  rand.New(rand.NewPCG(seed, 0x5eed)),
		http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: crashClients}}}
	r.serveArg = []string{"serve", "--data", r.data, "--addr", "127.0.0.1:0", "--metrics-addr", "off", "--seal-every", "300ms", "--shutdown-timeout", "2s"}
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(r.logPath); err == nil {
				tail := b[max(0, len(b)-4000):]
				t.Logf("end of the servers' log:\n%s", tail)
			}
		}
	})
	// Logins are made offline, as an operator does before the first start.
	mustDispoIn(t, crashPassword+"\n", "users", "add", "crash-admin", "--role", "admin", "--data", r.data, "--keep-password")
	r.admin = r.token("crash-admin")
	for i := range crashClients {
		c := &crashClient{id: i, finess: fmt.Sprintf("77%07d", 100+i), closed: map[string]bool{}, comment: map[string]string{},
			rng: rand.New(rand.NewPCG(seed, uint64(i+1)))}
		id := fmt.Sprintf("crash-%02d", i)
		args := []string{"users", "add", id, "--role", "responsable", "--establishment", c.finess, "--data", r.data, "--keep-password"}
		if i%2 == 1 {
			// Half the clients are programs: their declarations carry a
			// capacity source, through every kill and every snapshot.
			args = append(args, "--program")
		}
		mustDispoIn(t, crashPassword+"\n", args...)
		c.token = r.token(id)
		for u := range unitsPerOwner {
			c.units = append(c.units, fmt.Sprintf("C%02d-%d", i, u))
		}
		r.clients = append(r.clients, c)
	}
	return r
}

func (r *crashRig) token(user string) string {
	out := mustDispo(r.t, "users", "token", user, "--data", r.data)
	return strings.TrimSpace(out)
}

// campaign registers the units, runs the trials and checks a last time
// after a clean stop and a restart.
func (r *crashRig) campaign(trials int) {
	t := r.t
	c := r.start()
	r.register(c)
	for r.trial = 1; r.trial <= trials; r.trial++ {
		r.stats.Trials++
		r.check(c)
		c = r.load(c)
	}
	r.check(c)
	r.retryPending(c)
	r.check(c)
	if err := c.stop(20 * time.Second); err != nil {
		t.Errorf("final stop: %v", err)
	}
	// Offline, on the server's own log: what an auditor would run.
	args := []string{"verify", "--data", r.data}
	if r.store != nil {
		args = append(args, "--eventstore", r.store.URL())
	}
	code, out, errOut := dispo(t, "", args...)
	if code != 0 || !strings.Contains(out, "intact") {
		r.stats.VerifyFailures++
		t.Errorf("verify of the served log: exit %d\n%s%s", code, out, errOut)
	}
	r.report()
}

func (r *crashRig) start() *child {
	c, err := startChild(r.logPath, r.serveArg...)
	if err != nil {
		r.t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := r.http.Get(c.base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return c
			}
		}
		if time.Now().After(deadline) {
			c.kill()
			r.t.Fatalf("trial %d: not ready within 60 s", r.trial)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// register has the admin register every client's units, before any kill.
func (r *crashRig) register(c *child) {
	types := []string{"udm", "autodialyse", "centre-lourd"}
	depts := []string{"75", "77", "78", "91", "92", "93", "94", "95"}
	for _, cl := range r.clients {
		for j, u := range cl.units {
			body, _ := json.Marshal(map[string]any{"unit_id": u, "finess": cl.finess, "establishment": fmt.Sprintf("Centre d'essai %d", cl.id),
				"department": depts[cl.id%len(depts)], "type": types[j%len(types)], "name": "Unité " + u, "phone": "01 23 45 67 89", "sync_id": "S-" + u})
			cmd := &crashCmd{unit: u, method: "POST", path: "/api/v1/units", body: string(body), key: uuid.NewString(), corr: uuid.NewString(), kind: "register", events: 1}
			status, res, code := r.send(c.base, r.admin, cmd)
			if status != http.StatusCreated {
				r.t.Fatalf("registering %s: %d %s", u, status, code)
			}
			r.record(-1, cmd, res)
		}
	}
}

// next is the client's next command, chosen from what it knows of its units.
func (c *crashClient) next() *crashCmd {
	u := c.units[c.rng.IntN(len(c.units))]
	cmd := &crashCmd{unit: u, key: uuid.NewString(), corr: uuid.NewString()}
	base := "/api/v1/units/" + u
	p := c.rng.IntN(100)
	if c.closed[u] && p < 40 {
		p = 99 // a closed unit is mostly reopened, sometimes declared on (and refused)
	}
	switch {
	case p < 55:
		cmd.kind, cmd.method, cmd.path, cmd.events = "declare", "POST", base+"/declarations", 1
		inst := 10 + c.rng.IntN(20)
		d := map[string]any{"available": c.rng.IntN(inst + 1), "installed": inst}
		if c.rng.IntN(4) == 0 { // closed places, of a closing type: the optional fields of the record
			closed := 1 + c.rng.IntN(3)
			d["available"], d["closed_places"], d["closing_type"] = c.rng.IntN(inst-closed+1), closed, []string{"01", "02", "03"}[c.rng.IntN(3)]
		}
		if c.rng.IntN(3) == 0 { // a declaration with its comment: two events in one append
			text := fmt.Sprintf("essai %d", c.rng.IntN(1000))
			d["comment"] = text
			if text != c.comment[u] {
				cmd.events = 2
			}
		}
		b, _ := json.Marshal(d)
		cmd.body = string(b)
		if c.closed[u] {
			cmd.refuse, cmd.events = string(domain.EUnitClosed), 0
		}
	case p < 70:
		cmd.kind, cmd.method, cmd.path, cmd.body, cmd.events = "comment", "PUT", base+"/comment", fmt.Sprintf(`{"comment":"note %d"}`, c.rng.IntN(1000)), 1
	case p < 75:
		cmd.kind, cmd.method, cmd.path = "uncomment", "DELETE", base+"/comment"
		if c.comment[u] != "" {
			cmd.events = 1
		}
	case !c.closed[u]:
		cmd.kind, cmd.method, cmd.path, cmd.body, cmd.events = "close", "PUT", base+"/closure", `{"reason":"travaux"}`, 1
	default:
		cmd.kind, cmd.method, cmd.path, cmd.events = "reopen", "DELETE", base+"/closure", 1
	}
	return cmd
}

// learn updates what the client knows once cmd is answered.
func (c *crashClient) learn(cmd *crashCmd) {
	if cmd.refuse != "" {
		return
	}
	var d struct {
		Comment *string `json:"comment"`
	}
	json.Unmarshal([]byte(cmd.body), &d)
	switch cmd.kind {
	case "declare", "comment":
		if d.Comment != nil {
			c.comment[cmd.unit] = *d.Comment
		}
	case "uncomment":
		c.comment[cmd.unit] = ""
	case "close":
		c.closed[cmd.unit] = true
	case "reopen":
		c.closed[cmd.unit] = false
	}
}

type commandAnswer struct {
	Position uint64 `json:"position"`
	Revision int64  `json:"revision"`
	Appended int    `json:"appended"`
	Replayed bool   `json:"replayed"`
	Code     string `json:"code"`
}

// send sends cmd once: the status (0 when no answer came), the answer and
// the problem code of a refusal.
func (r *crashRig) send(base, token string, cmd *crashCmd) (int, commandAnswer, string) {
	return r.sendCtx(context.Background(), base, token, cmd)
}

func (r *crashRig) sendCtx(ctx context.Context, base, token string, cmd *crashCmd) (int, commandAnswer, string) {
	var body io.Reader
	if cmd.body != "" {
		body = strings.NewReader(cmd.body)
	}
	req, err := http.NewRequestWithContext(ctx, cmd.method, base+cmd.path, body)
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", cmd.key)
	req.Header.Set("X-Correlation-ID", cmd.corr)
	if cmd.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := r.http.Do(req)
	if err != nil {
		return 0, commandAnswer{}, ""
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, commandAnswer{}, "" // cut mid-answer: as good as none
	}
	var a commandAnswer
	json.Unmarshal(b, &a)
	return res.StatusCode, a, a.Code
}

// record notes cmd's answer, or why it is a wrong one.
func (r *crashRig) record(client int, cmd *crashCmd, a commandAnswer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Acknowledged++
	if a.Replayed {
		r.stats.Replays++
	}
	if !a.Replayed && a.Appended != cmd.events {
		r.stats.WrongAnswers++
		r.t.Errorf("trial %d: %s %s answered with %d events appended, %d expected", r.trial, cmd.kind, cmd.unit, a.Appended, cmd.events)
	}
	r.acks = append(r.acks, ack{crashCmd: *cmd, client: client, appended: a.Appended, replayed: a.Replayed,
		position: a.Position, revision: a.Revision, trial: r.trial})
}

// do sends the client's pending command until it is answered or ctx ends.
// It reports whether it was answered.
func (r *crashRig) do(ctx context.Context, base string, c *crashClient) bool {
	for first := true; ctx.Err() == nil; first = false {
		if !first {
			r.mu.Lock()
			r.stats.Retries++
			r.mu.Unlock()
		}
		cmd := c.pending
		status, a, code := r.sendCtx(ctx, base, c.token, cmd)
		switch {
		case status >= 200 && status < 300:
			if cmd.refuse != "" {
				r.mu.Lock()
				r.stats.ClosedBroken++
				r.mu.Unlock()
				r.t.Errorf("trial %d: %s on %s accepted, %s expected (the unit is closed)", r.trial, cmd.kind, cmd.unit, cmd.refuse)
			}
			r.record(c.id, cmd, a)
			c.learn(cmd)
			c.pending = nil
			return true
		case status >= 400 && status < 500 && status != http.StatusTooManyRequests:
			r.mu.Lock()
			if code == cmd.refuse {
				r.stats.Refused++
				r.acks = append(r.acks, ack{crashCmd: *cmd, client: c.id, trial: r.trial})
			} else {
				r.stats.WrongAnswers++
				r.t.Errorf("trial %d: %s on %s refused with %d %q (expected %q)", r.trial, cmd.kind, cmd.unit, status, code, cmd.refuse)
			}
			r.mu.Unlock()
			c.pending = nil
			return true
		}
		// No answer, 5xx or 503 while not ready: retry the same request.
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(5+c.rng.IntN(20)) * time.Millisecond):
		}
	}
	return false
}

// load runs the clients against c and, at a random moment, kills it, stops
// it, or (on EventStoreDB) stops and restarts the store under it or loses
// append replies; it returns the server to go on with, ready.
func (r *crashRig) load(c *child) *child {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, cl := range r.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if cl.pending == nil {
					cl.pending = cl.next()
				}
				r.do(ctx, c.base, cl)
			}
		}()
	}
	stopClients := func() {
		cancel()
		wg.Wait()
	}
	time.Sleep(time.Duration(20+r.rng.IntN(400)) * time.Millisecond)
	p := r.rng.IntN(100)
	if r.store != nil && p < 50 {
		if p < 35 {
			r.stats.StoreRestarts++
			r.store.Stop()
			time.Sleep(time.Duration(20+r.rng.IntN(300)) * time.Millisecond)
			if err := r.store.Restart(); err != nil {
				r.t.Fatalf("trial %d: restarting the store: %v", r.trial, err)
			}
		} else {
			r.stats.LostReplies++
			r.store.LoseNextAppendReplies(1 + r.rng.IntN(3))
		}
		// Let the clients retry through the outage.
		time.Sleep(time.Duration(100+r.rng.IntN(400)) * time.Millisecond)
		stopClients()
		r.retryPending(c)
		return c
	}
	switch {
	case p < 60:
		r.stats.Kills++
		c.kill()
	case p < 85:
		r.stats.TermKills++
		c.cmd.Process.Signal(syscall.SIGTERM)
		time.Sleep(time.Duration(r.rng.IntN(40)) * time.Millisecond)
		c.kill()
	default:
		r.stats.CleanStops++
		if err := c.stop(20 * time.Second); err != nil {
			r.t.Errorf("trial %d: clean stop: %v", r.trial, err)
		}
	}
	stopClients()
	r.damageSnapshot()
	return r.start()
}

// retryPending sends every command left unanswered, without new ones.
func (r *crashRig) retryPending(c *child) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, cl := range r.clients {
		if cl.pending != nil && !r.do(ctx, c.base, cl) {
			r.t.Fatalf("client %d: %s on %s never answered", cl.id, cl.pending.kind, cl.pending.unit)
		}
	}
}

// damageSnapshot deletes or damages the projections snapshot, now and then.
func (r *crashRig) damageSnapshot() {
	path := filepath.Join(r.data, "projections.snap")
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return
	}
	switch p := r.rng.IntN(100); {
	case p < 15:
		r.stats.SnapshotsDeleted++
		os.Remove(path)
	case p < 25:
		r.stats.SnapshotsDamaged++
		b[r.rng.IntN(len(b))] ^= byte(1 + r.rng.IntN(255))
		os.WriteFile(path, b, 0o600)
	case p < 30:
		r.stats.SnapshotsDamaged++
		os.WriteFile(path, b[:r.rng.IntN(len(b))], 0o600)
	}
}

// check compares the log with every acknowledgement, and the live
// projections with a rebuild from position 0: on a hot backup of the
// embedded log, or on the store itself. No client writes meanwhile; the
// periodic seal may.
func (r *crashRig) check(c *child) {
	t := r.t
	dir := filepath.Join(r.dir, fmt.Sprintf("check-%d", r.trial))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store := ""
	if r.store != nil {
		store = r.store.URL()
	} else {
		r.backup(c.base, logFile(dir))
	}
	users, err := os.ReadFile(filepath.Join(r.data, "users.json"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "users.json"), users, 0o600)

	args := []string{"verify", "--data", dir}
	if store != "" {
		args = append(args, "--eventstore", store)
	}
	if code, out, errOut := dispo(t, "", args...); code != 0 || !strings.Contains(out, "intact") {
		r.stats.VerifyFailures++
		t.Errorf("trial %d: verify: exit %d\n%s%s", r.trial, code, out, errOut)
	}
	head := r.checkAcks(dir, store)

	// The rebuild: a server of the same log without a snapshot folds from 0.
	env := &Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, Now: time.Now, Getenv: func(string) string { return "" }}
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- serve(ctx, env, serveConfig{data: dir, eventstore: store, addr: "127.0.0.1:0", shutdown: 5 * time.Second, ready: ready})
	}()
	var rebuilt string
	select {
	case a := <-ready:
		rebuilt = "http://" + a
	case err := <-served:
		t.Fatalf("trial %d: serving the copy: %v", r.trial, err)
	}
	defer func() {
		cancel()
		<-served
	}()
	waitReady(t, r.http, rebuilt)
	at := fmt.Sprintf("?min_position=%d", head)
	for _, path := range []string{"/api/v1/units", "/api/v1/matrix", "/api/v1/freshness"} {
		live, fresh := r.getJSON(c.base+path+at), r.getJSON(rebuilt+path+at)
		if live != fresh {
			r.stats.Divergent++
			t.Errorf("trial %d: %s: the live projections differ from a rebuild from 0:\nlive    %.600s\nrebuilt %.600s", r.trial, path, live, fresh)
		}
	}
	// The FHIR resources too: they show what the API does not (the
	// declarations' capacity source, the units' sync ids and times).
	if live, fresh := r.fhirResources(c.base), r.fhirResources(rebuilt); live != fresh {
		r.stats.Divergent++
		t.Errorf("trial %d: /fhir/Location: the live resources differ from a rebuild from 0:\nlive    %.600s\nrebuilt %.600s", r.trial, live, fresh)
	}
	var list struct {
		Units []struct {
			UnitID  string          `json:"unit_id"`
			Closure json.RawMessage `json:"closure"`
			Comment string          `json:"comment"`
		} `json:"units"`
	}
	json.Unmarshal([]byte(r.getJSON(c.base+"/api/v1/units"+at)), &list)
	seen := map[string]bool{}
	for _, u := range list.Units {
		seen[u.UnitID] = true
		cl := r.owner(u.UnitID)
		if cl == nil || cl.pending != nil && cl.pending.unit == u.UnitID {
			continue // its pending command may or may not have been applied
		}
		closed := len(u.Closure) > 0 && string(u.Closure) != "null"
		if closed != cl.closed[u.UnitID] || u.Comment != cl.comment[u.UnitID] {
			r.stats.ClosedBroken++
			t.Errorf("trial %d: unit %s: closed %v, comment %q; its owner's acknowledged commands say closed %v, comment %q",
				r.trial, u.UnitID, closed, u.Comment, cl.closed[u.UnitID], cl.comment[u.UnitID])
		}
	}
	for _, cl := range r.clients {
		for _, u := range cl.units {
			if !seen[u] {
				r.stats.Lost++
				t.Errorf("trial %d: unit %s missing from the live projections", r.trial, u)
			}
		}
	}
}

func (r *crashRig) owner(unit string) *crashClient {
	for _, c := range r.clients {
		for _, u := range c.units {
			if u == unit {
				return c
			}
		}
	}
	return nil
}

func waitReady(t *testing.T, hc *http.Client, base string) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := hc.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s not ready within 60 s", base)
}

func (r *crashRig) backup(base, path string) {
	req, _ := http.NewRequest("GET", base+"/api/v1/backup", nil)
	req.Header.Set("Authorization", "Bearer "+r.admin)
	res, err := r.http.Do(req)
	if err != nil {
		r.t.Fatalf("trial %d: backup: %v", r.trial, err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		r.t.Fatalf("trial %d: backup: %s", r.trial, res.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		r.t.Fatalf("trial %d: backup: %v", r.trial, err)
	}
	if err := f.Close(); err != nil {
		r.t.Fatal(err)
	}
}

// getJSON reads path as the admin, without the fields that say when and at
// which position it was answered: a periodic seal moves the log between two
// reads without changing any unit.
func (r *crashRig) getJSON(url string) string {
	var b []byte
	var res *http.Response
	for deadline := time.Now().Add(30 * time.Second); ; {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+r.admin)
		var err error
		res, err = r.http.Do(req)
		if err != nil {
			r.t.Fatalf("trial %d: GET %s: %v", r.trial, url, err)
		}
		b, _ = io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // not yet at min_position
	}
	if res.StatusCode != 200 {
		r.t.Fatalf("trial %d: GET %s: %s %s", r.trial, url, res.Status, b)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		r.t.Fatalf("trial %d: GET %s: %v", r.trial, url, err)
	}
	stripVolatile(v)
	out, _ := json.Marshal(v)
	return string(out)
}

// fhirResources are the Locations and HealthcareServices base serves, as
// JSON: the bundle's own id, time and links (which name the server) left
// out.
func (r *crashRig) fhirResources(base string) string {
	var b struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal([]byte(r.getJSON(base+"/fhir/Location?_revinclude=HealthcareService:location")), &b); err != nil || len(b.Entry) == 0 {
		r.t.Fatalf("trial %d: FHIR search on %s: %d entries, %v", r.trial, base, len(b.Entry), err)
	}
	out, _ := json.Marshal(b.Entry)
	return string(out)
}

func stripVolatile(v any) {
	switch v := v.(type) {
	case map[string]any:
		delete(v, "position")
		delete(v, "at") // the instant of the answer
		for _, e := range v {
			stripVolatile(e)
		}
	case []any:
		for _, e := range v {
			stripVolatile(e)
		}
	}
}

// checkAcks reads the log under check (the backup in dir, or the store)
// and holds every acknowledgement against it. It returns the log's head.
func (r *crashRig) checkAcks(dir, store string) uint64 {
	t := r.t
	log, err := openAnyLog(context.Background(), dir, store, true, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("trial %d: opening the log to check: %v", r.trial, err)
	}
	defer log.Close()
	head, err := log.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byCorr := map[string][]domain.Envelope{}
	next := map[string]uint64{}
	for env, err := range log.ReadAll(context.Background(), 0) {
		if err != nil {
			r.stats.VerifyFailures++
			t.Errorf("trial %d: reading the backup: %v", r.trial, err)
			break
		}
		if env.Position > head {
			break // appended since Head: not in the rebuild either
		}
		if env.Revision != next[env.Stream] {
			r.stats.DuplicateRevisions++
			t.Errorf("trial %d: %s at position %d has revision %d, %d expected", r.trial, env.Stream, env.Position, env.Revision, next[env.Stream])
		}
		next[env.Stream] = env.Revision + 1
		byCorr[env.CorrelationID] = append(byCorr[env.CorrelationID], env)
	}
	for _, a := range r.acks {
		evs := byCorr[a.corr]
		want := a.events
		if a.refuse != "" {
			want = 0
		}
		switch {
		case len(evs) < want:
			r.stats.Lost++
			t.Errorf("trial %d: %s on %s (trial %d) acknowledged with %d events; the log has %d", r.trial, a.kind, a.unit, a.trial, want, len(evs))
			continue
		case len(evs) > want:
			r.stats.Doubled++
			t.Errorf("trial %d: %s on %s (trial %d): %d events in the log, %d expected", r.trial, a.kind, a.unit, a.trial, len(evs), want)
			continue
		case want == 0:
			continue
		}
		last := evs[len(evs)-1]
		ok := last.Stream == domain.UnitStream(a.unit) && last.Position == a.position &&
			(a.replayed || int64(last.Revision) == a.revision)
		for i := 1; i < len(evs); i++ {
			ok = ok && evs[i].Position == evs[i-1].Position+1 && evs[i].Stream == evs[0].Stream
		}
		if !ok {
			r.stats.Misplaced++
			t.Errorf("trial %d: %s on %s (trial %d) answered at position %d revision %d; the log has it in %s at position %d revision %d",
				r.trial, a.kind, a.unit, a.trial, a.position, a.revision, last.Stream, last.Position, last.Revision)
		}
	}
	return head
}

func (r *crashRig) report() {
	s := r.stats
	b, _ := json.MarshalIndent(s, "", "  ")
	r.t.Logf("crash campaign: %d trials, %d acknowledged (%d replays, %d refused as expected), lost %d, doubled %d, misplaced %d\n%s",
		s.Trials, s.Acknowledged, s.Replays, s.Refused, s.Lost, s.Doubled, s.Misplaced, b)
	if dir := os.Getenv("DISPO_CRASH_REPORT"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, r.t.Name()+".json"), append(b, '\n'), 0o644); err != nil {
			r.t.Error(err)
		}
	}
	if s.Trials > 0 && s.Acknowledged == 0 {
		r.t.Error("no command was acknowledged: the trials tested nothing")
	}
	if n := s.violations(); n > 0 {
		r.t.Errorf("%d violations", n)
	}
}
