package app

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"dispo/projections"
)

const (
	// snapshotFile is the projections' snapshot in the data directory.
	snapshotFile = "projections.snap"
	// halfSaved names the temporary files of save.
	halfSaved = ".projections-*"
	// saveInterval is how often the projections are saved when they moved:
	// a restart replays at most that much of the log.
	saveInterval = time.Minute
)

// resume loads the projections saved at path by the last run, if they
// belong to log: the event at their position must be the one they last
// applied (same instant). Otherwise it starts from position 0.
func resume(ctx context.Context, path string, log projections.AllReader, logger *slog.Logger) *projections.Live {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return projections.NewLive()
	}
	if err != nil {
		logger.Warn("projections snapshot unreadable; replaying the log", "path", path, "err", err)
		return projections.NewLive()
	}
	defer f.Close()
	live, err := loadSnapshot(f)
	if err != nil {
		logger.Warn("projections snapshot refused; replaying the log", "path", path, "err", err)
		return projections.NewLive()
	}
	pos := live.Position()
	if pos > 0 {
		var at time.Time
		for env, err := range log.ReadAll(ctx, pos-1) {
			if err == nil {
				at = env.RecordedAt
			}
			break
		}
		if !at.Equal(live.LastChange()) {
			logger.Warn("projections snapshot is not of this log; replaying the log", "path", path, "position", pos)
			return projections.NewLive()
		}
	}
	logger.Info("projections resumed from their snapshot", "position", pos)
	return live
}

// removeHalfSaved removes the temporary files of saves a crash cut short:
// each kill during a save would leave one more. Only while no other server
// is saving in data.
func removeHalfSaved(data string, logger *slog.Logger) {
	left, _ := filepath.Glob(filepath.Join(data, halfSaved))
	for _, f := range left {
		if err := os.Remove(f); err != nil {
			logger.Warn("removing a half-saved projections snapshot", "path", f, "err", err)
		}
	}
}

// save writes the projections to path, whole or not at all.
func save(path string, live *projections.Live) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), halfSaved)
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = writeSnapshot(tmp, live.Image())
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// saveEvery saves the projections every interval if they moved, so that a
// restart resumes from there.
func (s *Service) saveEvery(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	saved := s.live.Position()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if p := s.live.Position(); p != saved {
			if err := save(s.snapPath, s.live); err != nil {
				s.log.Error("saving the projections", "err", err)
			}
			saved = p
		}
	}
}
