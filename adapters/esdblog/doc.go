// Package esdblog is dispo's event log on EventStoreDB (or KurrentDB),
// through github.com/EventStore/EventStore-Client-Go/v4. It is the log for
// deployments that outgrow one machine: a 3-node cluster keeps the events,
// and several `dispo serve` replicas each follow $all. It implements the same
// port as adapters/boltlog and passes the same conformance suite
// (adapters/eventlogtest); the differences are listed under Caveats.
//
// # Mapping
//
// Streams. Dispo stream s is the EventStoreDB stream Options.Prefix + s
// ("dispo-unit-77-EG-01" for "unit-77-EG-01" with the default prefix
// "dispo-"). The prefix is the server-side filter of every $all
// subscription: nothing else may write to streams that start with it.
//
// Expected revisions are mapped exactly: domain.AnyRevision is esdb.Any{},
// domain.NoStream is esdb.NoStream{}, an exact revision n is
// esdb.Revision(n). Stream revisions are EventStoreDB's event numbers.
//
// Events. One dispo event is one EventStoreDB event:
//
//	event id      the envelope's id (a UUID): set by dispo, so a retried
//	              append is recognised by the server and stored once
//	event type    the envelope's type ("availability.declared", ...)
//	content type  application/json
//	data          the payload, domain.EncodeEvent's JSON (instants in UTC)
//	metadata      JSON, keys (part of the stored format, do not change):
//	                recorded_at     RFC 3339 with nanoseconds, UTC: dispo's
//	                                own recorded-at; the server's "created"
//	                                is not used
//	                schema_version  the payload's schema version
//	                source          manual, api or import
//	                actor           {"user_id","role","establishment"},
//	                                each omitted when empty; the object
//	                                omitted when all are
//	                $correlationId  the correlation id, omitted when empty
//	                                (EventStoreDB's own key: its
//	                                $by_correlation_id projection reads it)
//	                hash            the event's hash (domain.ChainHash), 64
//	                                lowercase hex digits, omitted when zero
//	                prev_hash       the hash of the stream's previous event,
//	                                likewise; both stored as the writer
//	                                computed them, never checked here
//
// # Positions
//
// The port promises a gapless global position 1, 2, 3... in commit order.
// $all positions are (commit, prepare) byte offsets of the server's
// transaction log: increasing but sparse, and shared with system events and
// whatever else the database holds. A dispo position is therefore an
// ordinal: position n is the n-th event of $all whose stream starts with the
// prefix, in $all order. Every replica counting the same filtered $all
// derives the same positions, with no coordination and nothing written for
// it.
//
// Each Log keeps an index from positions to $all positions and back, built
// by one subscription to $all (filtered on the server by the prefix) that
// Open starts: it catches up, then follows live. Head is the last position
// indexed. Append returns once the index has seen its own events (it
// registers the id of its last event before writing, and the indexer says
// at which position it lands), so Head covers an append when it returns and
// a client that waits for that position reads its own write. ReadAll and
// Subscribe subscribe to $all from the $all position of their starting
// position and count from there; a stream read looks up the position of each
// event's $all position. Readers check their count against the index at
// every block boundary.
//
// The index holds every position, in blocks of 64: the first $all position
// in full (16 bytes), the 63 others as varint deltas (commit delta, then the
// prepare position's offset from its own commit), about 3 bytes each with
// EventStoreDB's positions: 3.9 bytes per event in all (measured on a
// million events by TestIndexBytesPerEvent), 4 MB per million events.
// A plain []struct{commit, prepare uint64} would take 16 bytes per event.
// Besides the index, each replica keeps the ids of the newest RecentIDs
// events (default 32,768, about 60 bytes each, 2 MB), and nothing else
// that grows with the log.
//
// # Checkpoint file
//
// With Options.Dir, the index is kept in Dir/esdblog-<prefix>index so that a
// restart resumes from it instead of reading $all from the start. The file
// is append-only; each complete block is appended once (every
// CheckpointInterval, and at Close), then the file is synced. Layout (part of
// the format, do not change without bumping the version; integers big-endian):
//
//	header   "dispo-esdblog-index", version (1 byte, 1), block size (1 byte,
//	         64), prefix length (1 byte), prefix
//	record   payload length (4 bytes), CRC-32C (Castagnoli) of the payload
//	         (4 bytes), payload:
//	           block number from 0 (8), first commit position (8), first
//	           prepare position (8), id of the block's last event (16),
//	           63 deltas (uvarint commit delta, zigzag varint prepare
//	           offset)
//
// Reading stops at the first record that is torn, fails its checksum, is
// out of sequence, or does not follow its predecessor; the file is cut
// there and the index resumes from the last good block, so a crash while
// writing costs at most a re-read of what followed. A header for another
// prefix, block size or version, or a file that is not a checkpoint, gives
// an empty index. The incomplete last block is never written: at most 63
// events are read again at each Open.
//
// Every time the indexer subscribes (at Open and after each drop) it starts
// one event early and checks that this event is the one the index ends with,
// same $all position and same id. At Open, a mismatch (a checkpoint written
// for another database) drops the checkpoint and $all is indexed from its
// start; later, a mismatch stops the index for good: every call then fails.
//
// # Errors
//
//	WrongExpectedVersion        *domain.ConflictError with the stream's
//	                            current revision as the server reported it
//	                            (domain.NoStreamRevision for no stream)
//	StreamNotFound (or deleted) domain.ENotFound
//	invalid input               domain.EInvalid, validated as boltlog does
//	                            (Envelope.Validate, stream names, an id
//	                            twice in one append or batch), nothing sent
//	unavailable, deadline,      retried with backoff (RetryBackoff doubling
//	not leader, aborted,        to MaxBackoff, at most MaxRetries times),
//	connection refused or reset within the caller's context and CallTimeout,
//	                            then an *UnavailableError, whose Unavailable
//	                            method makes the HTTP API answer 503 with
//	                            Retry-After
//	anything else               wrapped, code domain.EInternal
//
// Every call to the client runs in a goroutine of its own, bounded by the
// call's deadline: the client ignores contexts while it waits for its
// connection goroutine, which is busy as long as it rediscovers a server
// that is down. While a call given up on is still stuck there, new calls
// fail fast (and are retried) instead of queueing behind it. Open sets the
// client's MaxDiscoverAttempts to its maximum, because the client's
// connection goroutine exits for good once discovery runs out of attempts,
// after which calls block forever.
//
// Subscriptions (the indexer's and Subscribe's) that drop, fall behind or
// are cut by a server restart or a fail-over are opened again after the last
// event delivered, with backoff, for as long as it takes: no event is
// skipped or delivered twice. ReadAll gives up after MaxRetries drops in a
// row without progress, with an *UnavailableError.
//
// # Caveats
//
//   - AppendBatch is not atomic: EventStoreDB has no transaction across
//     streams, so parts are appended one after the other, and a failure
//     leaves the parts before it stored. Appending the same batch again is
//     safe (the stored parts are recognised by their ids): import relies on
//     it. Each part is one round trip, so imports are slower than on the
//     embedded log.
//   - Idempotence: a retry whose ids are among the newest RecentIDs indexed
//     here is answered from the index, exactly as the embedded log answers
//     it. Older retries are left to EventStoreDB, which recognises an append
//     stored at the same place (for any, within its own bounded cache of
//     recent ids). Ids already used in another stream are refused only when
//     that use is among the newest RecentIDs indexed here: EventStoreDB
//     itself does not look at other streams, and two replicas racing to use
//     the same ids in two streams are not detected.
//   - Positions are ordinals of the filtered $all: deleting, truncating
//     ($tb), limiting ($maxAge, $maxCount) or scavenging dispo streams, or
//     writing other data to streams with the prefix, shifts them. The
//     readers and the indexer detect it where they can and stop with an
//     error; never do it.
//   - Head is this replica's view: events appended through another replica
//     count once indexed here (usually within milliseconds). A stream read
//     waits (up to CallTimeout) for the index to reach events another
//     replica has just appended.
//   - If Append's events are stored but the index does not see them within
//     the deadline, Append fails with an *UnavailableError although the
//     events are stored; a retry with the same ids returns their positions.
//   - Servers: stream reads must carry $all positions (EventStoreDB 22.6 and
//     later). Open waits for the server's caught-up message (23.10 and
//     later) or, from older servers, for the index to pass the end of $all
//     as it was when Open looked.
//   - One process per checkpoint file: the file is not locked.
//   - The client leaks a little on each outage (it does not close the gRPC
//     connection it replaces), and if the server is still down at Close, its
//     connection goroutine keeps rediscovering until the process exits; Close
//     then leaves the client open, as closing it would make the calls stuck
//     in it panic.
//   - ReadAll and Subscribe have no deadline of their own beyond the
//     caller's context: a dead connection is detected by gRPC keepalives
//     (10 s by default, keepAliveInterval and keepAliveTimeout in the
//     connection string).
package esdblog
