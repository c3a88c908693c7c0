package httpapi

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"dispo/domain"
	"dispo/projections"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
)

// commandFunc turns a request into the unit it targets and the command.
type commandFunc func(w http.ResponseWriter, r *http.Request) (unitID string, cmd domain.Command, err error)

// commandResult answers a command: the unit as GET renders it at the
// position the command reached (null if the projections did not get there
// within MaxWait: read it with ?min_position=).
type commandResult struct {
	Unit     *unitBody `json:"unit"`
	Position uint64    `json:"position"` // pass as ?min_position= to read your own write
	Revision int64     `json:"revision"` // the unit's own revision: what If-Match takes
	Appended int       `json:"appended"`
	Replayed bool      `json:"replayed,omitempty"`
}

// idempotencyNamespace derives event ids from Idempotency-Key headers.
// Part of the API's behaviour, do not change: a retry must derive the same ids.
var idempotencyNamespace = uuid.MustParse("5b0c7d8e-3f1a-4c2b-9d6e-7a8b9c0d1e2f")

// command wraps a write: login, decoding, If-Match, Idempotency-Key, the
// ledger, and the answer: the unit as the read model renders it once it
// reached the command's position, with the view's ETag (see viewTag).
func (s *Server) command(fn commandFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.principal(w, r)
		if !ok {
			return
		}
		body := &bodyRecorder{ReadCloser: r.Body}
		r.Body = body
		unitID, cmd, err := fn(w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		req := domain.Request{UnitID: unitID, Command: cmd, Principal: &p, Source: domain.SourceAPI}
		if h := r.Header.Get("If-Match"); h != "" && strings.TrimSpace(h) != "*" {
			rev, ok := ifMatchRevision(h)
			if !ok {
				s.fieldProblem(w, r, domain.EInvalid, "If-Match", `If-Match doit porter la révision de l'UO ("12") ou son ETag ("12.…")`)
				return
			}
			req.IfMatch = &rev
		}
		// claimed is the key of this request and its fingerprint, released
		// if nothing is appended.
		var claimed string
		var fp [32]byte
		if key := r.Header.Get("Idempotency-Key"); key != "" {
			if len(key) > 200 || !domain.ValidStream(key) {
				s.fieldProblem(w, r, domain.EInvalid, "Idempotency-Key", "Idempotency-Key doit compter de 1 à 200 caractères ASCII imprimables, sans espace")
				return
			}
			claimed, fp = p.UserID+"\x00"+key, fingerprint(r, body.buf.Bytes())
			if !s.keys.claim(claimed, fp) {
				s.fieldProblem(w, r, codeIdempotencyKeyReused, "Idempotency-Key",
					"cette Idempotency-Key a déjà servi pour une autre requête (méthode, chemin ou corps) : une nouvelle tentative répète la requête à l'identique ; une nouvelle requête prend une nouvelle clé")
				return
			}
			// The command's kind is part of the derivation: a key reused for
			// another kind of command must not replay the first one.
			base := p.UserID + "\x00" + unitID + "\x00" + cmd.Name() + "\x00" + key + "\x00"
			req.EventIDs = func(i int) domain.EventID {
				return domain.EventID(uuid.NewSHA1(idempotencyNamespace, []byte(base+strconv.Itoa(i))))
			}
		}
		req.CorrelationID = r.Header.Get("X-Correlation-ID")
		if len(req.CorrelationID) > 128 || !domain.ValidText(req.CorrelationID) {
			req.CorrelationID = ""
		}
		if req.CorrelationID == "" {
			req.CorrelationID = uuid.Must(uuid.NewV7()).String()
		}
		out, err := s.cfg.Ledger.Execute(r.Context(), req)
		if err != nil && claimed != "" {
			s.keys.release(claimed, fp)
		}
		var conflict *domain.ConflictError
		if errors.As(err, &conflict) && req.IfMatch != nil {
			var current any
			if v, ok := s.viewNow(unitID); ok {
				b := unitJSON(v, s.cfg.Now())
				current = b
				w.Header().Set("ETag", viewTag(b))
			}
			problem(w, r, http.StatusPreconditionFailed, codePreconditionFailed, "If-Match",
				"l'UO a changé depuis votre lecture : rechargez-la et recommencez", current)
			return
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		status := http.StatusOK
		if _, ok := cmd.(domain.RegisterUnit); ok && out.Appended > 0 {
			status = http.StatusCreated
			w.Header().Set("Location", "/api/v1/units/"+unitID)
		}
		pos := out.Result.LastPosition
		if pos == 0 {
			pos = s.cfg.Live.Position() // nothing appended: any position will do
		}
		res := commandResult{Position: pos, Revision: out.State.Revision(), Appended: out.Appended, Replayed: out.Replayed}
		if v, ok := s.viewAt(r.Context(), unitID, pos); ok {
			b := unitJSON(v, s.cfg.Now())
			res.Unit = &b
			w.Header().Set("ETag", viewTag(b))
		}
		w.Header().Set("X-Dispo-Position", strconv.FormatUint(pos, 10))
		writeJSON(w, status, res)
	})
}

// viewAt is unit id as the read model has it once it reached pos: the
// command's answer is what the next GET shows. The wait is bounded by
// MaxWait; false if the projections did not get there.
func (s *Server) viewAt(ctx context.Context, id string, pos uint64) (projections.UnitView, bool) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.MaxWait)
	defer cancel()
	start := time.Now()
	err := s.cfg.Live.WaitFor(ctx, pos)
	s.metrics.viewWait.Observe(time.Since(start).Seconds())
	if err != nil {
		return projections.UnitView{}, false
	}
	return s.viewNow(id)
}

func (s *Server) viewNow(id string) (v projections.UnitView, ok bool) {
	s.cfg.Live.View(func(a *projections.Availability) { v, ok = a.Unit(id) })
	return v, ok
}

// ifMatchRevision reads the unit revision of an If-Match header: the
// revision alone ("12") or a unit's ETag ("12.3fa9…", the revision first).
// Only the revision is compared: a pool-mate's declaration changes the
// view, not the unit, and must not fail a command.
func ifMatchRevision(h string) (int64, bool) {
	t := strings.Trim(strings.TrimPrefix(strings.TrimSpace(h), "W/"), `"`)
	t, digest, tagged := strings.Cut(t, ".")
	if tagged {
		if _, err := hex.DecodeString(digest); err != nil || len(digest) != 2*viewDigestLen {
			return 0, false
		}
	}
	rev, err := strconv.ParseInt(t, 10, 64)
	return rev, err == nil && rev >= -1
}

// pathUnit returns the {id} of the path, validated.
func pathUnit(r *http.Request) (string, error) {
	id := mux.Vars(r)["id"]
	if !domain.ValidUnitID(id) {
		return "", domain.InvalidUnitID("unit_id", id)
	}
	return id, nil
}

type unitInput struct {
	ID            *string `json:"unit_id"`
	FINESS        string  `json:"finess"`
	Establishment string  `json:"establishment"`
	Department    string  `json:"department"`
	Type          string  `json:"type"`
	Name          string  `json:"name"`
	Phone         string  `json:"phone"`
	Commune       string  `json:"commune"`
	SyncID        string  `json:"sync_id"`
}

func (in unitInput) unit(id string) domain.Unit {
	return domain.Unit{ID: id, FINESS: in.FINESS, Establishment: in.Establishment, Department: in.Department,
		Type: in.Type, Name: in.Name, Phone: in.Phone, Commune: in.Commune, SyncID: in.SyncID}
}

func (s *Server) registerUnit(w http.ResponseWriter, r *http.Request) (string, domain.Command, error) {
	var in unitInput
	if err := decode(w, r, &in); err != nil {
		return "", nil, err
	}
	if in.ID == nil {
		return "", nil, domain.FieldErrorf(domain.EInvalid, "unit_id", "unit_id est obligatoire")
	}
	return *in.ID, domain.RegisterUnit{Unit: in.unit(*in.ID)}, nil
}

func (s *Server) changeDetails(w http.ResponseWriter, r *http.Request) (string, domain.Command, error) {
	id, err := pathUnit(r)
	if err != nil {
		return "", nil, err
	}
	var in unitInput
	if err := decode(w, r, &in); err != nil {
		return "", nil, err
	}
	if in.ID != nil && *in.ID != id {
		return "", nil, domain.FieldErrorf(domain.EInvalid, "unit_id", "unit_id %q ne correspond pas au chemin (%q) : l'identifiant d'une UO ne change pas", echoed(*in.ID), id)
	}
	return id, domain.ChangeUnitDetails{Unit: in.unit(id)}, nil
}

type declarationInput struct {
	Available    *int    `json:"available"`
	Installed    *int    `json:"installed"`
	ClosedPlaces *int    `json:"closed_places"`
	Comment      *string `json:"comment"`
	// ClosingType: of the closed places (national TRE_R333 code), if said.
	ClosingType string `json:"closing_type"`
}

func (s *Server) declare(w http.ResponseWriter, r *http.Request) (string, domain.Command, error) {
	id, err := pathUnit(r)
	if err != nil {
		return "", nil, err
	}
	var in declarationInput
	if err := decode(w, r, &in); err != nil {
		return "", nil, err
	}
	if err := required(in.Available, "available", "le nombre de places disponibles"); err != nil {
		return "", nil, err
	}
	if err := required(in.Installed, "installed", "le nombre de places installées"); err != nil {
		return "", nil, err
	}
	cmd := domain.DeclareAvailability{Available: *in.Available, Installed: *in.Installed, Comment: in.Comment, ClosingType: in.ClosingType}
	if in.ClosedPlaces != nil {
		cmd.ClosedPlaces = *in.ClosedPlaces
	}
	return id, cmd, nil
}

// required refuses a missing figure: a declaration states what it counts,
// 0 is not assumed.
func required(v *int, field, what string) error {
	if v == nil {
		return domain.FieldErrorf(domain.EInvalid, field, "%s est obligatoire (%s)", what, field)
	}
	return nil
}

func (s *Server) correctDeclaration(w http.ResponseWriter, r *http.Request) (string, domain.Command, error) {
	id, err := pathUnit(r)
	if err != nil {
		return "", nil, err
	}
	var in struct {
		Corrects     string `json:"corrects"`
		Available    *int   `json:"available"`
		Installed    *int   `json:"installed"`
		ClosedPlaces int    `json:"closed_places"`
		Reason       string `json:"reason"`
	}
	if err := decode(w, r, &in); err != nil {
		return "", nil, err
	}
	if err := required(in.Available, "available", "le nombre de places disponibles"); err != nil {
		return "", nil, err
	}
	if err := required(in.Installed, "installed", "le nombre de places installées"); err != nil {
		return "", nil, err
	}
	return id, domain.CorrectDeclaration{Corrects: in.Corrects, Available: *in.Available, Installed: *in.Installed,
		ClosedPlaces: in.ClosedPlaces, Reason: in.Reason}, nil
}

func (s *Server) setComment(w http.ResponseWriter, r *http.Request) (string, domain.Command, error) {
	id, err := pathUnit(r)
	if err != nil {
		return "", nil, err
	}
	var in struct {
		Comment *string `json:"comment"`
	}
	if err := decode(w, r, &in); err != nil {
		return "", nil, err
	}
	if in.Comment == nil {
		return "", nil, domain.FieldErrorf(domain.EInvalid, "comment", "comment est obligatoire (DELETE efface le commentaire)")
	}
	return id, domain.SetComment{Text: *in.Comment}, nil
}

func (s *Server) clearComment(w http.ResponseWriter, r *http.Request) (string, domain.Command, error) {
	id, err := pathUnit(r)
	return id, domain.ClearComment{}, err
}

func (s *Server) closeUnit(w http.ResponseWriter, r *http.Request) (string, domain.Command, error) {
	id, err := pathUnit(r)
	if err != nil {
		return "", nil, err
	}
	var in struct {
		Reason     string     `json:"reason"`
		Start      *time.Time `json:"start"`
		PlannedEnd *time.Time `json:"planned_end"`
		Reopenable *bool      `json:"reopenable"`
	}
	if err := decode(w, r, &in); err != nil {
		return "", nil, err
	}
	cmd := domain.CloseUnit{Reason: in.Reason, Reopenable: true}
	if in.Start != nil {
		cmd.Start = *in.Start
	}
	if in.PlannedEnd != nil {
		cmd.PlannedEnd = *in.PlannedEnd
	}
	if in.Reopenable != nil {
		cmd.Reopenable = *in.Reopenable
	}
	return id, cmd, nil
}

func (s *Server) reopenUnit(w http.ResponseWriter, r *http.Request) (string, domain.Command, error) {
	id, err := pathUnit(r)
	return id, domain.ReopenUnit{}, err
}

// reasoned decodes a body holding only a reason, for the admin's acts.
func reasoned(w http.ResponseWriter, r *http.Request) (string, string, error) {
	id, err := pathUnit(r)
	if err != nil {
		return "", "", err
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decode(w, r, &in); err != nil {
		return "", "", err
	}
	return id, in.Reason, nil
}

func (s *Server) cancelClosure(w http.ResponseWriter, r *http.Request) (string, domain.Command, error) {
	id, reason, err := reasoned(w, r)
	return id, domain.CancelClosure{Reason: reason}, err
}

func (s *Server) retireUnit(w http.ResponseWriter, r *http.Request) (string, domain.Command, error) {
	id, reason, err := reasoned(w, r)
	return id, domain.RetireUnit{Reason: reason}, err
}

func (s *Server) poolUnit(w http.ResponseWriter, r *http.Request) (string, domain.Command, error) {
	id, err := pathUnit(r)
	if err != nil {
		return "", nil, err
	}
	var in struct {
		Pool string `json:"pool"`
	}
	if err := decode(w, r, &in); err != nil {
		return "", nil, err
	}
	return id, domain.PoolUnit{Pool: in.Pool}, nil
}

func (s *Server) unpoolUnit(w http.ResponseWriter, r *http.Request) (string, domain.Command, error) {
	id, err := pathUnit(r)
	return id, domain.UnpoolUnit{}, err
}
