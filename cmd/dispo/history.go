package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"dispo/adapters/httpapi"
	"dispo/domain"
	"dispo/projections"
)

func runHistory(ctx context.Context, env *Env, args []string) error {
	fs := env.flags("history", "[--data DIR] [--at RFC3339] [--json] UNIT",
		"Prints every event of a unit in order: when (Europe/Paris), who (user, role,\n"+
			"establishment), through which door, what was recorded, and the unit right after.\n"+
			"Read from the unit's stream, not from a scan of the log.")
	data := env.dataFlag(fs)
	at := fs.String("at", "", "stop at this instant (RFC 3339): the last line is the unit as it was then")
	asJSON := fs.Bool("json", false, "one JSON object per event instead of a table")
	if err := env.parseArgs(fs, args, 1); err != nil {
		return err
	}
	id := fs.Arg(0)
	if !domain.ValidUnitID(id) {
		return fmt.Errorf("%q is not a unit id (1 to 64 of A-Z a-z 0-9 . _ -)", id)
	}
	until, err := parseAt(*at)
	if err != nil {
		return err
	}
	l, err := openLog(*data, true)
	if err != nil {
		return err
	}
	defer l.Close()
	stream, err := l.ReadStreamForward(ctx, domain.UnitStream(id), 0, 0)
	if domain.ErrorCode(err) == domain.ENotFound {
		return fmt.Errorf("unit %s has no event in %s", id, logFile(*data))
	}
	if err != nil {
		return err
	}
	entries := projections.UnitHistory(stream, until)
	if len(entries) == 0 {
		return fmt.Errorf("unit %s has no event before %s", id, *at)
	}
	if *asJSON {
		now := env.Now()
		if !until.IsZero() {
			now = until
		}
		return httpapi.WriteHistoryLines(env.Stdout, entries, now)
	}
	u := entries[len(entries)-1].View.Unit
	fmt.Fprintf(env.Stdout, "%s — %s, %s (FINESS %s), département %s\n\n", u.ID, u.Name, u.Establishment, u.FINESS, u.Department)
	w := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "rev\tquand\tqui\tsource\tévénement\tdisponibles / installés (places fermées)\tétat")
	for _, e := range entries {
		v := e.View
		state := "ouverte"
		switch {
		case v.Retired:
			state = "retirée du répertoire"
		case v.IsUnitClosed():
			state = "indisponibilité totale"
		case v.AwaitingDeclaration:
			state = "rouverte, à déclarer"
		}
		data, _ := domain.EncodeEvent(e.Event.Event)
		who := e.Event.Actor.UserID
		if e.Event.Actor.Role != "" {
			who += " (" + string(e.Event.Actor.Role)
			if e.Event.Actor.Establishment != "" {
				who += ", " + e.Event.Actor.Establishment
			}
			who += ")"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s %s\t%d / %d (%d)\t%s\n", e.Event.Revision, projections.FormatParis(e.Event.RecordedAt),
			who, e.Event.Source, e.Event.Type(), data, v.Available, v.Installed, v.ClosedPlaces, state)
	}
	return w.Flush()
}
