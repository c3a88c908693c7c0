package boltlog_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"dispo/adapters/boltlog"
	"dispo/adapters/eventlogtest"
	"dispo/domain"
)

// The damage trials: a log, closed cleanly or copied mid-run as a crash
// leaves it, damaged at random (bytes flipped, a page zeroed or copied over
// another, the file cut short), then checked, opened read-only and for
// writing, and read whole. Nothing may panic; a refusal names the file and
// wraps ErrDamaged; what refuses the file or finds it damaged leaves it as
// it was; and a file Check passes reads whole. DISPO_DAMAGE_TRIALS sets the
// count (make crash runs 1,000), DISPO_DAMAGE_SEED replays a run.
func TestDamageTrials(t *testing.T) {
	trials, _ := strconv.Atoi(os.Getenv("DISPO_DAMAGE_TRIALS"))
	if trials <= 0 {
		trials = 150
	}
	seed, _ := strconv.ParseUint(os.Getenv("DISPO_DAMAGE_SEED"), 10, 64)
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("damage trials: %d, seed %d (DISPO_DAMAGE_SEED replays them)", trials, seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	dir := t.TempDir()
	clean, crashed := damageBases(t, dir)
	var stats struct{ refusedAtOpen, foundByCheck, foundByRead, harmless int }
	for i := range trials {
		base := clean
		if i%2 == 1 {
			base = crashed
		}
		data := bytes.Clone(base)
		how, cut := damage(rng, data)
		data = data[:cut]
		path := filepath.Join(dir, fmt.Sprintf("trial-%d.db", i))
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		what := fmt.Sprintf("trial %d (%s, %s)", i, map[bool]string{true: "clean", false: "crashed"}[i%2 == 0], how)
		switch exerciseDamaged(t, what, path) {
		case "open":
			stats.refusedAtOpen++
		case "check":
			stats.foundByCheck++
		case "read":
			stats.foundByRead++
		default:
			stats.harmless++
		}
		os.Remove(path)
	}
	t.Logf("%d trials: refused at open %d, found by Check only %d, found by a read %d, harmless %d (0 panics)",
		trials, stats.refusedAtOpen, stats.foundByCheck, stats.foundByRead, stats.harmless)
}

// damageBases writes a log of several thousand events in many streams and
// returns it closed, and as a copy taken while it was open (a crash image).
func damageBases(t *testing.T, dir string) (clean, crashed []byte) {
	path := filepath.Join(dir, "base.db")
	l := mustOpen(t, path, boltlog.Options{})
	ctx := context.Background()
	for s := range 40 {
		for range 3 {
			evs := eventlogtest.Declarations(20)
			if _, err := l.Append(ctx, fmt.Sprintf("unit-%02d", s), domain.AnyRevision, evs); err != nil {
				t.Fatal(err)
			}
		}
	}
	crashed, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	clean, err = os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return clean, crashed
}

// damage damages data in place and says how; the file is data[:cut].
func damage(rng *rand.Rand, data []byte) (how string, cut int) {
	const page = 4096
	pages := len(data) / page
	switch rng.IntN(7) {
	case 0, 1:
		n := 1 + rng.IntN(8)
		for range n {
			data[rng.IntN(len(data))] ^= byte(1 + rng.IntN(255))
		}
		return fmt.Sprintf("%d bytes flipped", n), len(data)
	case 2:
		p := rng.IntN(pages)
		clear(data[p*page : (p+1)*page])
		return fmt.Sprintf("page %d zeroed", p), len(data)
	case 3:
		from, to := rng.IntN(pages), rng.IntN(pages)
		copy(data[to*page:(to+1)*page], data[from*page:(from+1)*page])
		return fmt.Sprintf("page %d copied over page %d", from, to), len(data)
	case 4:
		// A page header: the fields bbolt trusts most.
		p := 2 + rng.IntN(pages-2)
		off := p*page + rng.IntN(16)
		data[off] ^= byte(1 + rng.IntN(255))
		return fmt.Sprintf("header of page %d flipped at byte %d", p, off%page), len(data)
	case 5:
		// A branch's child pointer turned back to the branch itself: a
		// cycle, which sent bbolt's cursor round forever (found by fuzzing).
		var branches []int
		for p := 2; p < pages; p++ {
			if binary.NativeEndian.Uint16(data[p*page+8:]) == 0x01 && binary.NativeEndian.Uint64(data[p*page:]) == uint64(p) {
				branches = append(branches, p)
			}
		}
		if len(branches) == 0 {
			return "no branch page to damage", len(data)
		}
		p := branches[rng.IntN(len(branches))]
		// Its first child: the cursor's first descent never ends.
		binary.NativeEndian.PutUint64(data[p*page+16+8:], uint64(p))
		return fmt.Sprintf("a child of branch page %d pointed back to it", p), len(data)
	default:
		n := rng.IntN(len(data))
		return fmt.Sprintf("cut at %d of %d bytes", n, len(data)), n
	}
}

// exerciseDamaged runs everything that reads a log on path and says which
// first found the damage ("" if none did).
func exerciseDamaged(t *testing.T, what, path string) (found string) {
	t.Helper()
	sum := fileSum(t, path)
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("%s: panic: %v", what, r)
		}
	}()
	refused := func(step string, err error) bool {
		if err == nil {
			return false
		}
		if !errors.Is(err, boltlog.ErrDamaged) && !errors.Is(err, boltlog.ErrNotEventLog) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %s: error %q does not say the file %s is damaged", what, step, err, path)
		}
		if fileSum(t, path) != sum {
			t.Errorf("%s: %s refused the file but changed it", what, step)
		}
		return true
	}
	_, checkErr := boltlog.Check(path)
	refused("Check", checkErr)

	// Read-only, as verify, export and replay open it.
	ro, err := boltlog.Open(path, boltlog.Options{ReadOnly: true})
	if refused("read-only open", err) {
		found = "open"
	} else {
		n, readErr := readWhole(ro)
		ro.Close()
		if refused("read-only read", readErr) {
			found = "read"
		}
		if checkErr == nil && readErr != nil {
			t.Errorf("%s: Check passed, then a read failed after %d events: %v", what, n, readErr)
		}
	}
	// For writing, as serve opens it.
	rw, err := boltlog.Open(path, boltlog.Options{})
	if refused("open for writing", err) {
		if found == "" {
			found = "open"
		}
		return found
	}
	_, readErr := readWhole(rw)
	if readErr != nil {
		if _, err := rw.Append(context.Background(), "unit-new", domain.AnyRevision, eventlogtest.Declarations(1)); err == nil {
			t.Errorf("%s: a damaged log took an append", what)
		}
	}
	rw.Close()
	if refused("read", readErr) && found == "" {
		found = "read"
	}
	if found == "" && checkErr != nil {
		found = "check"
	}
	return found
}

func readWhole(l *boltlog.Log) (int, error) {
	n := 0
	for _, err := range l.ReadAll(context.Background(), 0) {
		if err != nil {
			return n, err
		}
		n++
	}
	for s := range 40 {
		if _, err := l.ReadStreamForward(context.Background(), fmt.Sprintf("unit-%02d", s), 0, 0); err != nil && domain.ErrorCode(err) != domain.ENotFound {
			return n, err
		}
	}
	return n, nil
}

func fileSum(t *testing.T, path string) [32]byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}
