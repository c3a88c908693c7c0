// Package standin is a TEST STAND-IN for an EventStoreDB / KurrentDB node. It
// is not EventStoreDB, it is not a database, and it must never be deployed or
// pointed at by anything but tests: it keeps every event in memory, forgets
// everything when the process exits, has no authentication, no TLS and no
// limits, and implements only the small part of the protocol listed below.
//
// It exists because no EventStoreDB server can run in CI or on the
// development machines. It serves the streams protocol over gRPC, on real TCP
// (127.0.0.1, an ephemeral port), with the generated server stubs of the
// client module itself (github.com/EventStore/EventStore-Client-Go/v4
// protos/streams and protos/serverfeatures), so that esdb.Client talks to it
// exactly as it talks to a node:
//
//	srv, err := standin.Start(standin.Options{})
//	conf, err := esdb.ParseConnectionString(srv.URL()) // esdb://127.0.0.1:PORT?tls=false
//	client, err := esdb.NewClient(conf)
//
// # What it implements
//
// event_store.client.streams.Streams/Append (client stream: options, then
// proposed messages):
//   - expected revision any, no_stream, stream_exists and an exact revision,
//     checked as the node checks them; a mismatch is answered
//     WrongExpectedVersion carrying the current revision (or current_no_stream)
//     and the expected one, in both the current and the 20.6.0 fields;
//   - idempotent appends as the node decides them: with an exact revision (or
//     no_stream) behind the stream's end, the events are compared by id with
//     the ones already at those revisions; with any or stream_exists, by id
//     within the stream. All the same: success with the revision and the
//     position of the last of the original events, nothing written. Only a
//     prefix the same: WrongExpectedVersion (the node's "corrupted
//     idempotency"). The node remembers recent ids in a bounded cache; the
//     stand-in remembers all of them;
//   - the "type" and "content-type" metadata are required (InvalidArgument
//     otherwise). As on the node, only "is it application/json" is kept: any
//     other content type reads back as application/octet-stream. Data, custom
//     metadata and the event id are kept as given;
//   - the "created" metadata is the time of the append from Options.Now, as
//     100 ns ticks since the Unix epoch, in decimal: that is what the node
//     sends (DateTime.ToTicksSinceEpoch) and what the client parses
//     (esdb/protobuf_utils.go createdFromProto). Not ticks since 0001-01-01;
//   - positions: every event gets commit == prepare position, strictly
//     increasing in append order but sparse, like the node's byte offsets in
//     its transaction log: the first event is at FirstPosition and each event
//     advances the next position by a size derived from its content. Never
//     assume position+1 is the next event. An append answers the position of
//     its last event;
//   - an append with no events only checks the expected revision; it answers
//     the current revision (or no_stream) and no position.
//
// event_store.client.streams.Streams/Read with a count (a read):
//   - a stream, forwards or backwards, from start, end or a revision
//     (inclusive), at most count events; a stream that does not exist is
//     answered with one StreamNotFound message. Events read from a stream
//     carry their $all position, as nodes since 22.6 do (older nodes sent
//     18446744073709551615);
//   - $all, forwards from start, end or a position (inclusive: the event at
//     that position is the first one), backwards from end or a position
//     (exclusive: events before it), at most count matching events, with an
//     optional server-side filter (below);
//   - only Event and StreamNotFound messages are sent to reads: the client's
//     ReadStream.Recv panics on any other kind.
//
// event_store.client.streams.Streams/Read with subscription options (a
// catch-up subscription, to $all or to a stream):
//   - first a SubscriptionConfirmation (a fresh UUID), then the events after
//     the starting point: from start, from end (live only), or after a
//     position / revision (exclusive, as the node does: resubscribing from
//     the last position seen delivers nothing twice), then one CaughtUp, then
//     live events as they are appended. FellBehind is never sent: a
//     subscriber reads the log at its own pace and cannot fall behind;
//   - $all subscriptions take a filter; a filtered one also receives a
//     Checkpoint every N events scanned (matching or not), N =
//     checkpointIntervalMultiplier × max search window (32 when the window
//     is "count" or 0), carrying the position of the last event scanned, so
//     that resuming from a checkpoint skips exactly what was scanned. No
//     extra checkpoint at the transition to live (the node removed it);
//   - a subscription ends cleanly when the client cancels it, abruptly (the
//     connection drops) on Stop, and with Unavailable on DropSubscriptions.
//
// Filters: on the stream name or on the event type; a set of prefixes (any
// of them matches) or a regular expression (Go's RE2 syntax, unanchored, where
// the node uses .NET regular expressions). The max search window does not
// bound anything here.
//
// event_store.client.server_features.ServerFeatures/GetSupportedMethods:
// answers Options.ServerVersion and the streams methods above, so the client
// (which probes it at connect) believes in no optional feature it would
// then use (no batch append, no persistent subscriptions).
//
// Keepalive: the server accepts HTTP/2 pings at any rate, with or without
// calls in flight, so the client's keepalive pings (every 10 s at least:
// grpc-go raises shorter intervals to 10 s) never earn a GOAWAY
// "too_many_pings", which grpc-go's default server policy would send.
//
// # What it does not implement
//
// Everything else answers Unimplemented: Streams Delete, Tombstone and
// BatchAppend; the gossip service (so esdb+discover:// and several hosts do
// not work: use the single-node URL); persistent subscriptions, projections,
// users, operations, monitoring. Also absent: authentication and ACLs, TLS,
// stream metadata semantics ($$stream events are stored as plain events: no
// max age, max count, truncate before), deleted and tombstoned streams, link
// events and resolveLinkTos (ignored), system events and system streams
// ($all holds only what clients appended), explicit transactions, the
// "requires-leader" header and not-leader redirects, the maximum append size,
// deadlines enforced on the server, and ReadReq control options (first/last
// stream position messages are never sent, as for the client's compatibility
// level 0).
//
// # Faults for tests
//
// Stop closes the listener and every connection at once, like a crash, and
// keeps the data; Restart listens again on the same address. FailNextAppends
// makes appends fail with Unavailable before writing; LoseNextAppendReplies
// makes them write and then fail with Unavailable, as when a reply is lost;
// DropSubscriptions ends the open subscriptions with Unavailable.
package standin
