// Package projections turns the event log into what people read: the current
// availability of every unit, the consultation matrix, the detail per
// department, the freshness of declarations, the weekly trends and a unit's
// history. It holds the folds and the views computed from them, and an
// image of the folds as plain data (Image) to resume from; it reads no file
// and encodes nothing: the server (cmd/dispo/app) keeps the image in a file
// of its own format.
//
// # One fold, many views
//
// Availability is a pure fold over domain.Envelope: it holds no clock, does no
// I/O and never refuses an event (events are facts; the domain validated them
// before they were appended). Every view is computed from that one fold at
// query time, so the views cannot disagree with one another, and replaying
// the log rebuilds exactly what the live fold holds: folding the log in one
// go or in several pieces, with queries in between, gives the same views.
//
// Per unit the fold keeps a record of its own (unitRecord: details, last
// declaration as corrected, comment, closure, pool, revision), which means
// what the domain's UnitState means for the same events: the rule book's
// fold keeps what deciding needs, this one what people read, and a test
// holds the two to the same meaning for every event type. What a unit
// shows as available is one rule (entry.available) and its rendering one
// function (entry.view, a UnitView), for the live fold and for each step of
// a history (UnitHistory) alike. The fold keeps one entry per unit and per
// pool and nothing per event: its memory grows with the directory, not with
// the history, and a declaration — nearly every event — costs one map
// lookup and no allocation. Whatever needs sorting (units by
// department, establishment, id) is kept sorted when a unit is registered or
// changes details, which is rare, so that queries neither sort nor write and
// may share a read lock.
//
// # Checkpoint
//
// Position is the position of the last applied envelope. A subscriber
// resumes after it; an envelope at or before a non-zero checkpoint is taken
// for a redelivery and ignored, which makes at-least-once delivery harmless.
// Events of streams that are not unit streams are not the fold's business,
// but they advance the checkpoint so that the subscriber does not read them
// again. Events of a unit seen before its registration are folded into its
// state (the log is the authority, not the fold) but the unit appears in no
// view until it is registered.
//
// # Image
//
// Live.Image copies both folds and the position into exported, plain-data
// types (Image), under the read lock; Live.Restore loads one into a new
// Live after checking that its folds hold together (ErrBadImage otherwise),
// and the Live then folds on exactly as the one the image was taken of.
// How an image is stored is not this package's business.
//
// # Pools (lits mutualisés sur plusieurs UO)
//
// Units pooled under the same pool id share their available places: there is
// one count, not one per unit. Hence:
//
//   - a declaration on any member sets the pool's count; among the current
//     members the latest declaration (by position) wins, so a member joining
//     brings its last declaration only if it is newer, and when the member
//     whose declaration made the count leaves, the count falls back to the
//     latest declaration of those who remain;
//   - every open member shows the pool's count as available; a closed member
//     shows 0, like any closed unit, without changing the count the other
//     members share;
//   - a total over a set of units (a matrix cell, a row or column total)
//     counts a pool's count once if at least one open member is in the set,
//     since counting it per member would promise the same places several
//     times; installed places are each unit's own and are summed normally.
//
// So with pools a total is not the sum of its parts: a pool split across two
// rows is counted in each row but once in their total.
//
// # Matrix and detail
//
// The matrix has a row per category (all of domain.Categories, as the ROR
// screen lists them even when empty) followed by a row per unit type of that
// category that has units, and a Total row; its columns are Île-de-France's
// departments, then any other department that has units, then Total. The
// Total row adds beds and places alike: it is a count of what the directory
// holds, not a clinical quantity. Detail lists one department's units of a
// category or type as the seed's "Détail des disponibilités par département".
// Times are shown in Europe/Paris (FormatParis), the zone of the users,
// whatever the zone of the server; the zone database is embedded so that a
// minimal container shows the same hours.
//
// # Freshness
//
// A unit's band is the age of its last declaration at an instant the caller
// gives: the caller owns the clock, so that the same fold answers the same
// way for the same instant in tests, audits and replays. A unit never
// declared is in the oldest band; a declaration dated after the instant
// (clocks of two servers) counts as just made rather than failing. Every
// registered unit is counted in a band, closed ones included, because the
// legend shows every unit.
//
// An open unit is overdue (en retard) when its last declaration is
// OverdueAfter old or more, or when it never declared. Closed units are not
// listed: their input is blocked (saisie bloquée), so they cannot meet the
// obligation, and listing them would hide those that can but do not.
//
// # Concurrency
//
// An Availability is not safe for concurrent use: Apply must be serialized
// with everything else. The views only read, so a server may guard it with a
// sync.RWMutex and answer queries in parallel.
package projections
