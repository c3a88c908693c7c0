package domain_test

import (
	"testing"
	"time"

	"dispo/domain"
)

// foreignEvent implements domain.Event but is none of the domain's types.
type foreignEvent struct{}

func (foreignEvent) EventType() string { return "unit.teleported" }
func (foreignEvent) Validate() error   { return nil }

func validEnvelope() domain.Envelope {
	return domain.Envelope{
		ID:            domain.EventID{1},
		Stream:        domain.UnitStream("77-EG-01"),
		SchemaVersion: 1,
		RecordedAt:    t0,
		Actor:         domain.Actor{UserID: "resp-770110054-1", Role: domain.RoleResponsable, Establishment: "770110054"},
		Source:        domain.SourceManual,
		CorrelationID: "5e0c2f4d-2a7b-4f1e-8c3d-9a8b7c6d5e4f",
		Event:         domain.AvailabilityDeclared{Available: 1, Installed: 18},
	}
}

func TestEnvelopeValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*domain.Envelope)
		valid bool
	}{
		{"valid", func(*domain.Envelope) {}, true},
		{"schema 0 means current", func(e *domain.Envelope) { e.SchemaVersion = 0 }, true},
		{"no actor", func(e *domain.Envelope) { e.Actor = domain.Actor{} }, true},
		{"no correlation id", func(e *domain.Envelope) { e.CorrelationID = "" }, true},
		{"correlation id 128", func(e *domain.Envelope) { e.CorrelationID = rep("c", 128) }, true},
		{"id last byte only", func(e *domain.Envelope) { e.ID = domain.EventID{15: 1} }, true},
		{"api", func(e *domain.Envelope) { e.Source = domain.SourceAPI }, true},
		{"import", func(e *domain.Envelope) { e.Source = domain.SourceImport }, true},
		{"recorded in other zone", func(e *domain.Envelope) { e.RecordedAt = t0.In(paris) }, true},

		{"zero id", func(e *domain.Envelope) { e.ID = domain.EventID{} }, false},
		{"missing event", func(e *domain.Envelope) { e.Event = nil }, false},
		{"empty stream", func(e *domain.Envelope) { e.Stream = "" }, false},
		{"stream with space", func(e *domain.Envelope) { e.Stream = "unit 1" }, false},
		{"system stream", func(e *domain.Envelope) { e.Stream = "$all" }, false},
		{"stream too long", func(e *domain.Envelope) { e.Stream = rep("s", 201) }, false},
		{"zero time", func(e *domain.Envelope) { e.RecordedAt = time.Time{} }, false},
		{"no source", func(e *domain.Envelope) { e.Source = "" }, false},
		{"unknown source", func(e *domain.Envelope) { e.Source = "fax" }, false},
		{"source case", func(e *domain.Envelope) { e.Source = "Manual" }, false},
		{"unknown role", func(e *domain.Envelope) { e.Actor.Role = "root" }, false},
		{"role case", func(e *domain.Envelope) { e.Actor.Role = "Admin" }, false},
		{"schema 2", func(e *domain.Envelope) { e.SchemaVersion = 2 }, false},
		{"schema -1", func(e *domain.Envelope) { e.SchemaVersion = -1 }, false},
		{"correlation id newline", func(e *domain.Envelope) { e.CorrelationID = "abc\ndef" }, false},
		{"correlation id nul", func(e *domain.Envelope) { e.CorrelationID = "\x00" }, false},
		{"correlation id nel", func(e *domain.Envelope) { e.CorrelationID = "a\u0085" }, false},
		{"correlation id invalid utf8", func(e *domain.Envelope) { e.CorrelationID = "a\xff" }, false},
		{"correlation id 129", func(e *domain.Envelope) { e.CorrelationID = rep("c", 129) }, false},
		{"user id control", func(e *domain.Envelope) { e.Actor.UserID = "u\t1" }, false},
		{"user id 129", func(e *domain.Envelope) { e.Actor.UserID = rep("u", 129) }, false},
		{"establishment control", func(e *domain.Envelope) { e.Actor.Establishment = "77\x7f" }, false},
		{"establishment 129", func(e *domain.Envelope) { e.Actor.Establishment = rep("7", 129) }, false},
		{"invalid event", func(e *domain.Envelope) { e.Event = domain.AvailabilityDeclared{Available: 3, Installed: 2} }, false},
		{"foreign event type", func(e *domain.Envelope) { e.Event = foreignEvent{} }, false},
		{"foreign event type, schema 0", func(e *domain.Envelope) { e.Event, e.SchemaVersion = foreignEvent{}, 0 }, false},
	}
	for _, role := range []domain.Role{domain.RoleResponsable, domain.RoleProfessionnel, domain.RoleAnalyst, domain.RoleAuditor, domain.RoleAdmin, domain.RoleSystem} {
		tests = append(tests, struct {
			name  string
			edit  func(*domain.Envelope)
			valid bool
		}{"role " + string(role), func(e *domain.Envelope) { e.Actor.Role = role }, true})
	}
	for _, ev := range sampleEvents() {
		tests = append(tests, struct {
			name  string
			edit  func(*domain.Envelope)
			valid bool
		}{"event " + ev.EventType(), func(e *domain.Envelope) { e.Event = ev }, true})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := validEnvelope()
			tt.edit(&env)
			err := env.Validate()
			if tt.valid {
				wantCode(t, err, "")
				return
			}
			wantCode(t, err, domain.EInvalid)
		})
	}
}

func TestEnvelopeType(t *testing.T) {
	var env domain.Envelope
	if got := env.Type(); got != "" {
		t.Errorf("Type() of an empty envelope = %q, want \"\"", got)
	}
	env.Event = domain.UnitReopened{}
	if got := env.Type(); got != domain.TypeUnitReopened {
		t.Errorf("Type() = %q, want %q", got, domain.TypeUnitReopened)
	}
}

func TestEventID(t *testing.T) {
	if !(domain.EventID{}).IsZero() {
		t.Error("zero EventID: IsZero() = false")
	}
	for i := 0; i < 16; i++ {
		var id domain.EventID
		id[i] = 0x80
		if id.IsZero() {
			t.Errorf("%x: IsZero() = true", id)
		}
	}
}

func TestValidSourceAndRole(t *testing.T) {
	for _, s := range []domain.Source{domain.SourceManual, domain.SourceAPI, domain.SourceImport} {
		if !domain.ValidSource(s) {
			t.Errorf("ValidSource(%q) = false", s)
		}
	}
	for _, s := range []domain.Source{"", "web", "API", " api"} {
		if domain.ValidSource(s) {
			t.Errorf("ValidSource(%q) = true", s)
		}
	}
	for _, r := range []domain.Role{"", "root", "responsable ", "Auditor"} {
		if domain.ValidRole(r) {
			t.Errorf("ValidRole(%q) = true", r)
		}
	}
}
