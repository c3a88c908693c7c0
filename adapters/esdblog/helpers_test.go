package esdblog_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"dispo/adapters/esdblog"
	"dispo/adapters/esdblog/standin"
)

// startStandin starts a stand-in that lives until the test ends.
func startStandin(tb testing.TB) *standin.Server {
	tb.Helper()
	srv, err := standin.Start(standin.Options{})
	if err != nil {
		tb.Fatalf("starting the stand-in: %v", err)
	}
	tb.Cleanup(srv.Close)
	return srv
}

// testOptions are short deadlines, so that failures show quickly.
func testOptions(tb testing.TB) esdblog.Options {
	var logger *slog.Logger
	if os.Getenv("ESDBLOG_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return esdblog.Options{CallTimeout: 3 * time.Second, Logger: logger}
}

// mustOpen opens a Log on url that is closed when the test ends.
func mustOpen(tb testing.TB, url string, opts esdblog.Options) *esdblog.Log {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l, err := esdblog.Open(ctx, url, opts)
	if err != nil {
		tb.Fatalf("open %s: %v", url, err)
	}
	tb.Cleanup(func() {
		if err := l.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return l
}

func testCtx(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	tb.Cleanup(cancel)
	return ctx
}
