package boltlog_test

import "math/rand/v2"

// randomBytes is deterministic: a failure reproduces.
func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
