// Package memlog is an event log held in memory, for the tests of domain,
// projections and anything else that needs a log but is not about files:
// they run without a temporary directory, an fsync per append or a lock
// to take. It is not durable: what it holds is gone with the process.
//
// It passes adapters/eventlogtest, so it answers as adapters/boltlog does:
// the same expected-revision checks, idempotent retries by event id,
// gapless positions from 1, all-or-nothing AppendBatch, and the same
// domain error codes. Like the durable logs it gives instants back in UTC
// and fills a zero schema version with the current one.
//
// Envelopes are copied going in and coming out, so neither the caller who
// appended an event nor one who read it can change what others read.
package memlog
