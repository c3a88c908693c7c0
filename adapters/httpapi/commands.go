package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"dispo/domain"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
)

// commandFunc turns a request into the unit it targets and the command.
type commandFunc func(w http.ResponseWriter, r *http.Request) (unitID string, cmd domain.Command, err error)

type commandResult struct {
	Unit     unitBody `json:"unit"`
	Position uint64   `json:"position"` // pass as ?min_position= to read your own write
	Revision int64    `json:"revision"`
	Appended int      `json:"appended"`
	Replayed bool     `json:"replayed,omitempty"`
}

// idempotencyNamespace derives event ids from Idempotency-Key headers.
// Part of the API's behaviour, do not change: a retry must derive the same ids.
var idempotencyNamespace = uuid.MustParse("5b0c7d8e-3f1a-4c2b-9d6e-7a8b9c0d1e2f")

// command wraps a write: login, decoding, If-Match, Idempotency-Key, the
// ledger, and the answer with the unit's new revision as ETag.
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
			rev, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(strings.TrimSpace(h), "W/"), `"`), 10, 64)
			if err != nil || rev < -1 {
				s.writeProblem(w, r, domain.EInvalid, `If-Match must be a unit revision as given in ETag, e.g. "12"`, nil)
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
				s.writeProblem(w, r, domain.EInvalid, "Idempotency-Key must be 1 to 200 printable ASCII characters without spaces", nil)
				return
			}
			claimed, fp = p.UserID+"\x00"+key, fingerprint(r, body.buf.Bytes())
			if !s.keys.claim(claimed, fp) {
				s.fieldProblem(w, r, codeIdempotencyKeyReused, "Idempotency-Key",
					"this Idempotency-Key was sent with another request (method, path or body): a retry must repeat the request exactly; use a new key for a new request")
				return
			}
			// The command's kind is part of the derivation: a key reused for
			// another kind of command must not replay the first one.
			base := p.UserID + "\x00" + unitID + "\x00" + fmt.Sprintf("%T", cmd) + "\x00" + key + "\x00"
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
			if st, err := s.cfg.Ledger.State(r.Context(), unitID); err == nil && st.Registered() {
				current = stateJSON(&st, s.cfg.Now())
				w.Header().Set("ETag", etag(st.Revision()))
			}
			s.writeProblem(w, r, codePreconditionFailed, "the unit changed since you read it: reload it and retry", current)
			return
		}
		if domain.ErrorCode(err) == domain.ECommentInvisible {
			field := "comment"
			if _, ok := cmd.(domain.SetComment); ok {
				field = "text"
			}
			s.fieldProblem(w, r, domain.ECommentInvisible, field, domain.ErrorMessage(err))
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
		w.Header().Set("ETag", etag(out.State.Revision()))
		w.Header().Set("X-Dispo-Position", strconv.FormatUint(pos, 10))
		writeJSON(w, status, commandResult{Unit: stateJSON(&out.State, s.cfg.Now()), Position: pos,
			Revision: out.State.Revision(), Appended: out.Appended, Replayed: out.Replayed})
	})
}

// pathUnit returns the {id} of the path, validated.
func pathUnit(r *http.Request) (string, error) {
	id := mux.Vars(r)["id"]
	if !domain.ValidUnitID(id) {
		return "", domain.Errorf(domain.EInvalid, "invalid unit id %q: 1 to 64 of A-Z a-z 0-9 . _ -", id)
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
}

func (in unitInput) unit(id string) domain.Unit {
	return domain.Unit{ID: id, FINESS: in.FINESS, Establishment: in.Establishment, Department: in.Department,
		Type: in.Type, Name: in.Name, Phone: in.Phone}
}

func (s *Server) registerUnit(w http.ResponseWriter, r *http.Request) (string, domain.Command, error) {
	var in unitInput
	if err := decode(w, r, &in); err != nil {
		return "", nil, err
	}
	if in.ID == nil {
		return "", nil, domain.Errorf(domain.EInvalid, "unit_id is required")
	}
	u := in.unit(*in.ID)
	if err := u.Validate(); err != nil {
		return "", nil, err
	}
	return u.ID, domain.RegisterUnit{Unit: u}, nil
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
		return "", nil, domain.Errorf(domain.EInvalid, "unit_id %q does not match the path (%q): a unit's id cannot change", *in.ID, id)
	}
	u := in.unit(id)
	if err := u.Validate(); err != nil {
		return "", nil, err
	}
	return id, domain.ChangeUnitDetails{Unit: u}, nil
}

type declarationInput struct {
	Available *int    `json:"available"`
	Installed *int    `json:"installed"`
	Closed    *int    `json:"closed"`
	Comment   *string `json:"comment"`
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
	if in.Available == nil || in.Installed == nil {
		return "", nil, domain.Errorf(domain.EInvalid, "available and installed are required (closed defaults to 0)")
	}
	cmd := domain.DeclareAvailability{Available: *in.Available, Installed: *in.Installed, Comment: in.Comment}
	if in.Closed != nil {
		cmd.Closed = *in.Closed
	}
	if err := (domain.AvailabilityDeclared{Available: cmd.Available, Installed: cmd.Installed, Closed: cmd.Closed}).Validate(); err != nil {
		return "", nil, err
	}
	return id, cmd, nil
}

func (s *Server) setComment(w http.ResponseWriter, r *http.Request) (string, domain.Command, error) {
	id, err := pathUnit(r)
	if err != nil {
		return "", nil, err
	}
	var in struct {
		Text *string `json:"text"`
	}
	if err := decode(w, r, &in); err != nil {
		return "", nil, err
	}
	if in.Text == nil {
		return "", nil, domain.Errorf(domain.EInvalid, "text is required (DELETE the comment to clear it)")
	}
	return id, domain.SetComment{Text: *in.Text}, nil
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
