package server

import (
	"context"
	"net/http"

	"github.com/civic-city/civic/internal/civic"
)

// resource is the CRUD of one kind of asset: list, create, get, replace,
// merge and delete, each guarded by a permission and audited. The asset
// files (depots.go, trucks.go, ...) fill it with their store methods.
type resource[T any] struct {
	s    *Server
	name string // "depot": audit actions "depot.create", targets "depot/ID"

	list   func(ctx context.Context) ([]T, error)
	get    func(ctx context.Context, id string) (T, error)
	create func(ctx context.Context, v *T) error
	update func(ctx context.Context, v *T) error
	delete func(ctx context.Context, id string) error
	// id points at the identifier field of v.
	id func(v *T) *string
	// prepare fills defaults before a write; old is the stored value for
	// updates (to keep fields the API never sends, such as secrets) and nil
	// for creates. May be nil.
	prepare func(old, v *T)
	// view returns what GET and writes answer with; get by default.
	view func(ctx context.Context, id string) (any, error)
	// decodeErr adjusts encoding/json's decoding errors before they are
	// turned into civic errors, e.g. to prefix a field; may be nil.
	decodeErr func(error) error
}

func (rs *resource[T]) show(ctx context.Context, id string) (any, error) {
	if rs.view != nil {
		return rs.view(ctx, id)
	}
	return rs.get(ctx, id)
}

func (rs *resource[T]) decode(r *http.Request, v *T) error {
	err := decodeRaw(r, v)
	if err != nil && rs.decodeErr != nil {
		err = rs.decodeErr(err)
	}
	if err != nil {
		return jsonError(err)
	}
	return checkStrings(v)
}

func (rs *resource[T]) handleList(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermRead); err != nil {
		return err
	}
	items, err := rs.list(r.Context())
	if err != nil {
		return err
	}
	if items == nil {
		items = []T{}
	}
	writeJSON(w, http.StatusOK, list[T]{Items: items})
	return nil
}

func (rs *resource[T]) handleGet(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermRead); err != nil {
		return err
	}
	v, err := rs.show(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (rs *resource[T]) handleCreate(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermWriteAssets); err != nil {
		return err
	}
	var v T
	if err := rs.decode(r, &v); err != nil {
		return err
	}
	if rs.prepare != nil {
		rs.prepare(nil, &v)
	}
	if err := rs.create(r.Context(), &v); err != nil {
		return err
	}
	id := *rs.id(&v)
	rs.s.audit(r, rs.name+".create", rs.name+"/"+id, "")
	return rs.answer(w, r, http.StatusCreated, id)
}

// handlePut replaces the asset: fields left out of the body take their zero
// value or default.
func (rs *resource[T]) handlePut(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermWriteAssets); err != nil {
		return err
	}
	id := r.PathValue("id")
	var v T
	if err := rs.decode(r, &v); err != nil {
		return err
	}
	return rs.replace(w, r, id, &v)
}

// handlePatch merges the body into the stored asset: fields present replace
// the stored ones, the others are kept.
func (rs *resource[T]) handlePatch(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermWriteAssets); err != nil {
		return err
	}
	id := r.PathValue("id")
	v, err := rs.get(r.Context(), id)
	if err != nil {
		return err
	}
	if err := rs.decode(r, &v); err != nil {
		return err
	}
	return rs.replace(w, r, id, &v)
}

func (rs *resource[T]) replace(w http.ResponseWriter, r *http.Request, id string, v *T) error {
	if p := rs.id(v); *p == "" {
		*p = id
	} else if *p != id {
		return civic.FieldError("id", "must match the id in the URL (%s)", id)
	}
	old, err := rs.get(r.Context(), id)
	if err != nil {
		return err
	}
	if rs.prepare != nil {
		rs.prepare(&old, v)
	}
	if err := rs.update(r.Context(), v); err != nil {
		return err
	}
	rs.s.audit(r, rs.name+".update", rs.name+"/"+id, "")
	return rs.answer(w, r, http.StatusOK, id)
}

func (rs *resource[T]) handleDelete(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermWriteAssets); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := rs.delete(r.Context(), id); err != nil {
		return err
	}
	rs.s.audit(r, rs.name+".delete", rs.name+"/"+id, "")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// answer writes the stored asset after a write, so the client sees what
// the store made of it (timestamps, defaults, derived fields).
func (rs *resource[T]) answer(w http.ResponseWriter, r *http.Request, status int, id string) error {
	v, err := rs.show(r.Context(), id)
	if err != nil {
		return err
	}
	if status == http.StatusCreated {
		w.Header().Set("Location", r.URL.Path+"/"+id)
	}
	writeJSON(w, status, v)
	return nil
}

// list is the JSON shape of every collection.
type list[T any] struct {
	Items []T `json:"items"`
}
