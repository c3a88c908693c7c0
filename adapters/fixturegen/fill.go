package fixturegen

import (
	"context"
	"iter"

	"dispo/domain"
)

// BatchAppender is a log that appends to several streams in one transaction.
type BatchAppender interface {
	AppendBatch(ctx context.Context, reqs []domain.AppendRequest) ([]domain.AppendResult, error)
}

// Fill appends generated events to dst, each at the revision the generator
// gave it, batch events per transaction, and returns how many it appended.
// Benchmarks and the demo use it to build logs fast.
func Fill(ctx context.Context, dst BatchAppender, events iter.Seq[domain.Envelope], batch int) (int, error) {
	reqs := make([]domain.AppendRequest, 0, batch)
	n := 0
	flush := func() error {
		if len(reqs) == 0 {
			return nil
		}
		_, err := dst.AppendBatch(ctx, reqs)
		n += len(reqs)
		reqs = reqs[:0]
		return err
	}
	for env := range events {
		reqs = append(reqs, domain.AppendRequest{Stream: env.Stream, Expected: domain.Exact(int64(env.Revision) - 1), Events: []domain.Envelope{env}})
		if len(reqs) == batch {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	return n, flush()
}
