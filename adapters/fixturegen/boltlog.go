package fixturegen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"dispo/adapters/boltlog"
)

// CachedLog returns the path of an embedded log holding the events cfg
// generates, in dir, building it on first use: benchmarks that need a
// million events pay for them once per machine, not once per run. A file
// that is not complete is rebuilt.
func CachedLog(ctx context.Context, cfg Config, dir string) (string, error) {
	if err := cfg.Validate(); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("dispo-%d-%du-%dw-%de.db", cfg.Seed, cfg.Units, cfg.Weeks, cfg.Events))
	if l, err := boltlog.Open(path, boltlog.Options{ReadOnly: true}); err == nil {
		h, _ := l.Head(ctx)
		l.Close()
		if cfg.Events == 0 || h == uint64(cfg.Events) {
			return path, nil
		}
	}
	os.Remove(path)
	gen, err := IleDeFrance(cfg)
	if err != nil {
		return "", err
	}
	l, err := boltlog.Open(path, boltlog.Options{})
	if err != nil {
		return "", err
	}
	if _, err := Fill(ctx, l, gen, 10_000); err != nil {
		l.Close()
		os.Remove(path)
		return "", err
	}
	return path, l.Close()
}
