// Package boltlog is dispo's embedded event log: one bbolt file on disk,
// nothing to install. It is the default log; adapters/esdblog is the one for
// deployments that outgrow a machine. Both pass adapters/eventlogtest.
//
// # Guarantees
//
//   - Append is atomic per call and checks the expected revision (any, no
//     stream, exact). It returns only once the events are synced to disk.
//   - Appends are idempotent by event id: the same events appended again at
//     the same place succeed and write nothing; the same ids anywhere else are
//     a conflict carrying the stream's current revision.
//   - Every event gets a global position: 1, 2, 3... with no gap, in commit
//     order. ReadAll and Subscribe deliver events in that order.
//   - Concurrent appenders share a transaction and a sync (group commit).
//
// # File format
//
// Everything below is part of the format, do not change it without bumping
// the format value in the meta bucket. Integers in keys are big-endian so
// that bbolt's byte order is numeric order.
//
//	bucket "meta"
//	    "format"    -> "dispo-eventlog/2"
//	    "heads_at"  -> position (uint64) the heads checkpoint covers
//	bucket "events"            sequence = head position
//	    position (uint64)  -> record
//	bucket "ids"
//	    event id (16 bytes)    -> position (uint64)
//	bucket "heads"             a checkpoint, see below
//	    stream name            -> revision (uint64), position (uint64) of its newest event
//
// A stream is a chain: each record holds its stream revision and the
// position of the stream's previous event. The newest event of every stream
// (its head) is kept in memory; reading a stream walks the chain back from
// its head. Heads reach the disk only at checkpoints (every 65,536 events
// and at Close), in the "heads" bucket with the position they cover; Open
// loads them and folds the records after that position, checking that each
// continues its chain. Why not a bucket per stream: every commit would then
// write one random page per stream it touches, and a sync pays for every
// page (measured here: 0.37 ms for 1 page, 2.4 ms for 64).
//
// A record is a fixed 112-byte header followed by variable fields:
//
//	offset  size  field
//	0       1     record format, 2
//	1       4     CRC-32C (Castagnoli) of bytes 5 to the end
//	5       16    event id
//	21      8     stream revision, uint64
//	29      8     position of the stream's previous event, 0 for the first
//	37      32    hash of the event (domain.ChainHash), all zero when the
//	              writer did not chain it
//	69      32    hash of the stream's previous event, zero for the first
//	101     8     recorded-at, Unix nanoseconds UTC, int64
//	109     1     event type code: 1 unit.registered, 2 unit.details_changed,
//	              3 availability.declared, 4 comment.set, 5 comment.cleared,
//	              6 unit.closed, 7 unit.reopened, 8 unit.pooled, 9 unit.unpooled,
//	              10 log.sealed, 11 unit.retired, 12 unit.closure_cancelled,
//	              13 availability.corrected
//	110     1     schema version of the event type
//	111     1     source: 1 manual, 2 api, 3 import
//	112     ...   strings, each a uvarint length then UTF-8 bytes:
//	              stream, actor user id, actor role, actor establishment,
//	              correlation id
//	...     ...   payload, by type:
//	              unit.registered, unit.details_changed: strings unit id,
//	                FINESS, establishment, department, type, name, phone,
//	                then the commune only when it is set (records written
//	                before communes end after the phone)
//	              availability.declared: uvarints available, installed, closed
//	              availability.corrected: string corrected event id (UUID
//	                text); uvarints available, installed, closed; string reason
//	              unit.retired, unit.closure_cancelled: string reason
//	              comment.set: string text
//	              unit.closed: string reason; time start; time planned end;
//	                byte reopenable (1) or not (0); a time is a byte 0 (none)
//	                or 1 followed by Unix nanoseconds as int64
//	              unit.pooled: string pool id
//	              log.sealed: uvarint count of heads, then per head:
//	                string stream, uvarint revision, string hash (hex)
//	              others: nothing
//
// The hashes are the writer's (see domain.Chain): the log stores them as
// given and does not check them; sealRecord leaves them alone. Format 1
// files (without hashes) are refused as not an event log of this format:
// export them with the build that wrote them and import the JSONL.
//
// Why binary and not the JSON the rest of the world sees: replaying a million
// events is dominated by decoding, and this layout decodes several times faster
// than encoding/json (docs/BENCHMARKS.md has the figures). JSON stays at the
// edges: import, export, the API, EventStoreDB.
//
// # Damage
//
// Open refuses, with an error wrapping ErrDamaged or ErrNotEventLog and
// without writing, a file that is not a bbolt database, is shorter than its
// meta page says (bbolt would die of SIGBUS on it), is a bbolt database
// without the meta bucket, whose last event does not sit at the head
// position or fails its checksum, or whose records after the heads
// checkpoint do not continue their streams. Reads verify each record's
// checksum and report a corrupt record with its position; they never panic.
//
// # Caveats
//
// One process at a time holds the file (bbolt's flock); a second Open waits
// LockTimeout then fails with ErrLocked. ReadOnly opens share the lock with
// each other, not with a writer. Subscribers are woken by commits of this
// process only.
package boltlog
