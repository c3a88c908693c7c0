package app

import (
	"context"
	"time"

	"dispo/domain"
)

// sealEvery appends a seal every interval if the log moved since the last
// one, so that verify detects removed streams and cut tails.
func (s *Service) sealEvery(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var sealedAt uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		head, err := s.cfg.Log.Head(ctx)
		if err != nil || head == sealedAt {
			continue
		}
		res, err := s.sealer.Seal(ctx, domain.Envelope{ID: newEventID(), RecordedAt: s.cfg.Now().UTC(),
			Actor: domain.Actor{UserID: "dispo", Role: domain.RoleSystem}, Source: domain.SourceManual})
		if err != nil {
			s.log.Error("sealing the log", "err", err)
			continue
		}
		sealedAt = res.LastPosition
		s.log.Info("log sealed", "position", res.LastPosition)
	}
}
