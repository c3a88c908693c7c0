// Package fixturegen generates event logs of dialysis units, deterministically
// from a seed: it is the source of the checked-in fixtures of
// eventlog-fixtures/ and of the large logs benchmarks need.
//
// Two generators:
//
//   - Seed77 reproduces the department-77 detail table of the ROR guide
//     (establishment "EG", four units) as a short log.
//   - IleDeFrance streams the log of a plausible region: establishments and
//     their dialysis units over the eight departments, weekly-or-better
//     declarations at office hours (Europe/Paris time), comments set and
//     cleared, closures and reopenings, one pool of shared places, and a few
//     units that miss the weekly obligation. Config scales it up for
//     benchmarks; it holds only per-unit state, never the log.
//
// The envelopes are complete, as a log would store them: ids, global
// positions gapless from 1 in recorded-at order, per-stream revisions from 0,
// UTC times, actors, sources and correlation ids, and each stream's hash
// chain (domain.Chain), as the writer of a log computes it; the logs are
// sealed (domain.LogSealed in stream domain.SealStream, with the head of
// every other stream). Each unit stream is decidable:
// every event is what domain.Decide yields for the matching command on the
// state folded so far. The same Config always yields the same envelopes, to
// the byte once written (ids come from a seeded generator, not from the clock
// or the system's randomness); changing the generator changes the fixtures,
// which a test of this package then reports.
package fixturegen
