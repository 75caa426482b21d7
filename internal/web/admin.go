package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/civic-city/civic/internal/civic"
)

// The admin pages: the asset registry (bins, devices, zones, depots,
// trucks, crews, facilities: list, search, create, edit, deactivate, bin
// import), users and roles, API keys, alert rules, and notification
// subscriptions. They call the store and service functions the JSON API
// calls and require the same permissions: assets PermWriteAssets
// (supervisors and admins), alert rules PermOperate, users, keys and
// subscriptions PermManageAccess (admins). Their forms post back to the
// page, guarded against cross-site requests by the server's
// CrossOriginProtection like every other form.

// Admin are the account and notification operations the admin pages need
// beyond the store: hashing passwords and making secrets is the auth
// service's job, delivering notifications the notifier's. A nil field
// turns its screen's buttons off with a note.
type Admin struct {
	// AddUser stores a new user with a password (auth.Service.AddUser).
	AddUser func(ctx context.Context, u *civic.User, password string) error
	// SetPassword replaces a user's password (auth.Service.SetPassword).
	SetPassword func(ctx context.Context, userID, password string) error
	// CreateAPIKey makes a key and returns its secret, shown once
	// (auth.Service.CreateAPIKey).
	CreateAPIKey func(ctx context.Context, name string, scopes []civic.Scope, createdBy string) (string, civic.APIKey, error)
	// RevokeAPIKey revokes a key so that it is refused at once
	// (auth.Service.RevokeAPIKey).
	RevokeAPIKey func(ctx context.Context, id string) error
	// SendTest delivers a test notification to a subscription now
	// (alert.Notifier.SendTest).
	SendTest func(ctx context.Context, sub civic.Subscription) error
}

// adminRoutes adds the admin pages to mux.
func (u *UI) adminRoutes(mux *routeMux) {
	assets := func(h func(http.ResponseWriter, *http.Request, civic.Principal)) http.HandlerFunc {
		return u.pageFor(civic.PermWriteAssets, h)
	}
	access := func(h func(http.ResponseWriter, *http.Request, civic.Principal)) http.HandlerFunc {
		return u.pageFor(civic.PermManageAccess, h)
	}
	mux.HandleFunc("GET /admin", assets(u.adminIndex))
	mux.HandleFunc("GET /admin/assets/{kind}", assets(u.adminAssetList))
	mux.HandleFunc("GET /admin/assets/{kind}/new", assets(u.adminAssetNew))
	mux.HandleFunc("POST /admin/assets/{kind}/new", assets(u.adminAssetCreate))
	mux.HandleFunc("GET /admin/assets/{kind}/{id}", assets(u.adminAssetEdit))
	mux.HandleFunc("POST /admin/assets/{kind}/{id}", assets(u.adminAssetUpdate))
	mux.HandleFunc("POST /admin/assets/{kind}/{id}/deactivate", assets(u.adminAssetDeactivate))
	mux.HandleFunc("POST /admin/assets/bins/import", assets(u.adminBinImport))
	mux.HandleFunc("GET /admin/users", access(u.adminUsers))
	mux.HandleFunc("POST /admin/users", access(u.adminUserCreate))
	mux.HandleFunc("POST /admin/users/{id}", access(u.adminUserUpdate))
	mux.HandleFunc("GET /admin/keys", access(u.adminKeys))
	mux.HandleFunc("POST /admin/keys", access(u.adminKeyCreate))
	mux.HandleFunc("POST /admin/keys/{id}/revoke", access(u.adminKeyRevoke))
	mux.HandleFunc("GET /admin/rules", u.pageFor(civic.PermOperate, u.adminRules))
	mux.HandleFunc("POST /admin/rules", u.pageFor(civic.PermOperate, u.adminRulesSave))
	mux.HandleFunc("POST /admin/rules/delete", u.pageFor(civic.PermOperate, u.adminRulesDelete))
	mux.HandleFunc("GET /admin/subscriptions", access(u.adminSubscriptions))
	mux.HandleFunc("POST /admin/subscriptions", access(u.adminSubscriptionCreate))
	mux.HandleFunc("POST /admin/subscriptions/{id}/delete", access(u.adminSubscriptionDelete))
	mux.HandleFunc("POST /admin/subscriptions/{id}/test", access(u.adminSubscriptionTest))
}

// adminLink is an entry of the admin index.
type adminLink struct {
	Path, Label, What string
}

func (u *UI) adminIndex(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	var links []adminLink
	for _, k := range u.assetKinds() {
		links = append(links, adminLink{"/admin/assets/" + k.Key, k.Title, k.What})
	}
	if p.Can(civic.PermOperate) {
		links = append(links, adminLink{"/admin/rules", "Alert rules", "which rules raise alerts, and their thresholds, per stream, zone and bin"})
	}
	if p.Can(civic.PermManageAccess) {
		links = append(links,
			adminLink{"/admin/users", "Users and roles", "who signs in, and what they may do"},
			adminLink{"/admin/keys", "API keys", "programs that call civic; create and revoke"},
			adminLink{"/admin/subscriptions", "Notifications", "webhooks and e-mail for alert events, with a test button"})
	}
	u.render(w, r, http.StatusOK, "admin", "", pageData{Title: "Admin", Active: "/admin", Principal: p, Data: links})
}

// audit records a change made on an admin page, as the API does. The
// change is committed: a failure to record it is logged, not shown.
func (u *UI) audit(r *http.Request, p civic.Principal, action, target, detail string) {
	e := civic.AuditEntry{Time: u.now().UTC(), Actor: actorOf(p), Action: action, Target: target, Detail: detail, Remote: r.RemoteAddr}
	if err := u.deps.Store.AppendAudit(context.WithoutCancel(r.Context()), &e); err != nil {
		u.log.Error("web: audit entry lost", "err", err, "action", action, "target", target)
	}
}

// actorOf names p in the audit log and in alert changes.
func actorOf(p civic.Principal) string {
	if p.KeyID != "" {
		return "key:" + p.KeyID
	}
	return p.Name
}

// readForm parses a posted form of at most 1 MiB.
func readForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return civic.Errorf(civic.Invalid, "The form could not be read.")
	}
	return nil
}

// ---- assets ----

// assetField is one field of an asset form, named as in the asset's JSON.
type assetField struct {
	Name, Label string
	// Type is text, number, bool, select, list (comma-separated strings)
	// or json (a JSON value, such as a zone's boundary).
	Type     string
	Options  []string
	Required bool
	Help     string
}

// assetKind is one kind of asset the admin pages manage. Records are the
// asset's JSON as a map, so one form and one table serve every kind; the
// store validates as it does for the API.
type assetKind struct {
	Key, Title, Singular, What string
	Fields                     []assetField
	Columns                    []string // fields the table shows after the id
	// Status: the kind has an AssetStatus, and deactivating sets it to
	// inactive; kinds without one are deleted instead.
	Status bool
	list   func(ctx context.Context) ([]map[string]any, error)
	get    func(ctx context.Context, id string) (map[string]any, error)
	create func(ctx context.Context, raw []byte) (string, error)
	// update overlays raw on the stored asset id and stores it.
	update func(ctx context.Context, id string, raw []byte) error
	delete func(ctx context.Context, id string) error
}

// normalizer is an asset that fills its defaults before it is stored.
type normalizer interface{ Normalize() }

// toRecord turns an asset into its JSON map.
func toRecord(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

// kindOf builds an assetKind's store functions over T's store methods.
func kindOf[T any](k assetKind, list func(context.Context) ([]T, error), get func(context.Context, string) (T, error),
	create, update func(context.Context, *T) error, del func(context.Context, string) error, id func(*T) string) assetKind {
	prepare := func(v *T) {
		if n, ok := any(v).(normalizer); ok {
			n.Normalize()
		}
	}
	k.list = func(ctx context.Context) ([]map[string]any, error) {
		vs, err := list(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]map[string]any, 0, len(vs))
		for i := range vs {
			m, err := toRecord(&vs[i])
			if err != nil {
				return nil, err
			}
			out = append(out, m)
		}
		return out, nil
	}
	k.get = func(ctx context.Context, id string) (map[string]any, error) {
		v, err := get(ctx, id)
		if err != nil {
			return nil, err
		}
		return toRecord(&v)
	}
	k.create = func(ctx context.Context, raw []byte) (string, error) {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", jsonFieldError(err)
		}
		prepare(&v)
		return id(&v), create(ctx, &v)
	}
	k.update = func(ctx context.Context, key string, raw []byte) error {
		v, err := get(ctx, key)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return jsonFieldError(err)
		}
		if id(&v) != key {
			return civic.FieldError("id", "cannot be changed")
		}
		prepare(&v)
		return update(ctx, &v)
	}
	k.delete = del
	return k
}

// jsonFieldError turns a JSON type error into an Invalid error naming the
// field.
func jsonFieldError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return civic.FieldError(te.Field, "has the wrong type (want %s)", te.Type.String())
	}
	return civic.Errorf(civic.Invalid, "The form could not be read: %s", err.Error())
}

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

var assetStatuses = strs([]civic.AssetStatus{civic.StatusActive, civic.StatusInactive, civic.StatusMaintenance, civic.StatusRemoved})

// assetKinds lists the kinds of asset, in the admin index's order.
func (u *UI) assetKinds() []assetKind {
	st := u.deps.Store
	streams := strs(civic.Streams)
	kinds := []assetKind{
		kindOf(assetKind{Key: "bins", Title: "Bins", Singular: "bin", What: "stations and baskets; CSV or GeoJSON import", Status: true,
			Columns: []string{"name", "stream", "zone_id", "status"},
			Fields: []assetField{
				{Name: "id", Label: "Id", Type: "text", Required: true},
				{Name: "name", Label: "Name", Type: "text", Required: true},
				{Name: "lat", Label: "Latitude", Type: "number", Required: true},
				{Name: "lon", Label: "Longitude", Type: "number", Required: true},
				{Name: "address", Label: "Address", Type: "text"},
				{Name: "stream", Label: "Stream", Type: "select", Options: streams},
				{Name: "capacity_l", Label: "Capacity (litres)", Type: "number", Required: true},
				{Name: "compacting", Label: "Compacting", Type: "bool"},
				{Name: "full_threshold", Label: "Full threshold (0–1)", Type: "number", Help: "0 uses the default, 0.9"},
				{Name: "zone_id", Label: "Zone", Type: "text", Help: "empty: the zone containing the bin"},
				{Name: "serial", Label: "Serial", Type: "text"},
				{Name: "model", Label: "Model", Type: "text"},
				{Name: "installed_on", Label: "Installed on", Type: "text", Help: "YYYY-MM-DD"},
				{Name: "access_window", Label: "Access window", Type: "text", Help: "HH:MM-HH:MM in the city's time zone; empty: any time"},
				{Name: "status", Label: "Status", Type: "select", Options: assetStatuses},
			}},
			func(ctx context.Context) ([]civic.Bin, error) {
				vs, err := st.ListBins(ctx, civic.BinFilter{})
				out := make([]civic.Bin, len(vs))
				for i := range vs {
					out[i] = vs[i].Bin
				}
				return out, err
			},
			func(ctx context.Context, id string) (civic.Bin, error) {
				v, err := st.Bin(ctx, id)
				return v.Bin, err
			},
			st.CreateBin, st.UpdateBin, st.DeleteBin, func(b *civic.Bin) string { return b.ID }),
		kindOf(assetKind{Key: "devices", Title: "Devices", Singular: "device", What: "sensors and the bins they are mounted on", Status: true,
			Columns: []string{"kind", "bin_id", "dev_eui", "status"},
			Fields: []assetField{
				{Name: "id", Label: "Id", Type: "text", Required: true},
				{Name: "kind", Label: "Kind", Type: "text", Help: "ultrasonic, laser, bigbelly, temperature, ..."},
				{Name: "bin_id", Label: "Bin", Type: "text"},
				{Name: "dev_eui", Label: "DevEUI", Type: "text", Help: "LoRaWAN, 16 hex digits"},
				{Name: "fill_scale", Label: "Fill scale", Type: "select", Options: strs([]civic.FillScale{civic.ScaleFraction, civic.ScalePercent, civic.ScaleBigbelly})},
				{Name: "payload_format", Label: "Payload format", Type: "text"},
				{Name: "expected_interval_s", Label: "Expected interval (s)", Type: "number", Help: "0: 900"},
				{Name: "firmware", Label: "Firmware", Type: "text"},
				{Name: "status", Label: "Status", Type: "select", Options: assetStatuses},
			}},
			st.ListDevices, st.Device, st.CreateDevice, st.UpdateDevice, st.DeleteDevice, func(d *civic.Device) string { return d.ID }),
		kindOf(assetKind{Key: "zones", Title: "Zones", Singular: "zone", What: "districts as GeoJSON polygons",
			Columns: []string{"name"},
			Fields: []assetField{
				{Name: "id", Label: "Id", Type: "text", Required: true},
				{Name: "name", Label: "Name", Type: "text", Required: true},
				{Name: "boundary", Label: "Boundary", Type: "json", Required: true, Help: `a GeoJSON Polygon or MultiPolygon geometry, e.g. {"type":"Polygon","coordinates":[[[lon,lat],...]]}`},
			}},
			st.ListZones, st.Zone, st.CreateZone, st.UpdateZone, st.DeleteZone, func(z *civic.Zone) string { return z.ID }),
		kindOf(assetKind{Key: "depots", Title: "Depots", Singular: "depot", What: "where trucks start and end their shifts",
			Columns: []string{"name", "address"},
			Fields: []assetField{
				{Name: "id", Label: "Id", Type: "text", Required: true},
				{Name: "name", Label: "Name", Type: "text", Required: true},
				{Name: "lat", Label: "Latitude", Type: "number", Required: true},
				{Name: "lon", Label: "Longitude", Type: "number", Required: true},
				{Name: "address", Label: "Address", Type: "text"},
			}},
			st.ListDepots, st.Depot, st.CreateDepot, st.UpdateDepot, st.DeleteDepot, func(d *civic.Depot) string { return d.ID }),
		kindOf(assetKind{Key: "trucks", Title: "Trucks", Singular: "truck", What: "collection vehicles, their capacity and shifts", Status: true,
			Columns: []string{"name", "depot_id", "stream", "status"},
			Fields: []assetField{
				{Name: "id", Label: "Id", Type: "text", Required: true},
				{Name: "name", Label: "Name", Type: "text", Required: true},
				{Name: "depot_id", Label: "Depot", Type: "text", Required: true},
				{Name: "capacity_l", Label: "Capacity (litres)", Type: "number", Required: true},
				{Name: "compaction_ratio", Label: "Compaction ratio", Type: "number", Help: "0: the planner's default"},
				{Name: "stream", Label: "Stream", Type: "select", Options: streams},
				{Name: "shift_start", Label: "Shift start", Type: "text", Help: "HH:MM"},
				{Name: "shift_end", Label: "Shift end", Type: "text", Help: "HH:MM"},
				{Name: "status", Label: "Status", Type: "select", Options: assetStatuses},
			}},
			st.ListTrucks, st.Truck, st.CreateTruck, st.UpdateTruck, st.DeleteTruck, func(t *civic.Truck) string { return t.ID }),
		kindOf(assetKind{Key: "crews", Title: "Crews", Singular: "crew", What: "who drives which truck",
			Columns: []string{"name", "depot_id", "truck_id", "members"},
			Fields: []assetField{
				{Name: "id", Label: "Id", Type: "text", Required: true},
				{Name: "name", Label: "Name", Type: "text", Required: true},
				{Name: "depot_id", Label: "Depot", Type: "text"},
				{Name: "truck_id", Label: "Truck", Type: "text"},
				{Name: "members", Label: "Members", Type: "list", Help: "user names, separated by commas"},
			}},
			st.ListCrews, st.Crew, st.CreateCrew, st.UpdateCrew, st.DeleteCrew, func(c *civic.Crew) string { return c.ID }),
	}
	if fs := u.facilityStore(); fs != nil {
		kinds = append(kinds, kindOf(assetKind{Key: "facilities", Title: "Facilities", Singular: "facility", What: "where trucks unload", Status: true,
			Columns: []string{"name", "kind", "streams", "status"},
			Fields: []assetField{
				{Name: "id", Label: "Id", Type: "text", Required: true},
				{Name: "name", Label: "Name", Type: "text", Required: true},
				{Name: "kind", Label: "Kind", Type: "select", Options: strs([]civic.FacilityKind{civic.FacilityTransfer, civic.FacilityRecycling, civic.FacilityLandfill, civic.FacilityCompost})},
				{Name: "lat", Label: "Latitude", Type: "number", Required: true},
				{Name: "lon", Label: "Longitude", Type: "number", Required: true},
				{Name: "address", Label: "Address", Type: "text"},
				{Name: "streams", Label: "Streams accepted", Type: "list", Help: strings.Join(streams, ", ")},
				{Name: "opens", Label: "Opens", Type: "text", Help: "HH:MM"},
				{Name: "closes", Label: "Closes", Type: "text", Help: "HH:MM"},
				{Name: "unload_min", Label: "Unloading (minutes)", Type: "number"},
				{Name: "status", Label: "Status", Type: "select", Options: assetStatuses},
			}},
			fs.ListFacilities, fs.Facility, fs.CreateFacility, fs.UpdateFacility, fs.DeleteFacility, func(f *civic.Facility) string { return f.ID }))
	}
	return kinds
}

// facilityStore is the store of facilities: the plan store, or the store
// when it keeps them.
type facilityStore interface {
	CreateFacility(ctx context.Context, f *civic.Facility) error
	UpdateFacility(ctx context.Context, f *civic.Facility) error
	DeleteFacility(ctx context.Context, id string) error
	Facility(ctx context.Context, id string) (civic.Facility, error)
	ListFacilities(ctx context.Context) ([]civic.Facility, error)
}

func (u *UI) facilityStore() facilityStore {
	if u.deps.Plans != nil {
		return u.deps.Plans
	}
	if fs, ok := u.deps.Store.(facilityStore); ok {
		return fs
	}
	return nil
}

func (u *UI) assetKind(r *http.Request) (assetKind, error) {
	key := r.PathValue("kind")
	for _, k := range u.assetKinds() {
		if k.Key == key {
			return k, nil
		}
	}
	return assetKind{}, civic.Errorf(civic.NotFound, "There is no kind of asset %q.", key)
}

// assetRow is a record as the list shows it.
type assetRow struct {
	ID     string
	Cells  []string
	Status string
}

// assetListData is the model of an asset list.
type assetListData struct {
	Kind           assetKind
	Q, Status      string
	Statuses       []string
	Rows           []assetRow
	Total, Matched int
	More           bool
	Flash          string
	// Import: the bin import's per-line errors, or how many it stored.
	ImportErrors []string
	Imported     int
}

// recordCell writes a record's value for a table cell.
func recordCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = recordCell(e)
		}
		return strings.Join(parts, ", ")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// assetListSize bounds the rows an asset list shows; search narrows it.
const assetListSize = 500

func (u *UI) adminAssetList(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	k, err := u.assetKind(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := assetListData{Kind: k, Q: strings.TrimSpace(r.URL.Query().Get("q")), Status: r.URL.Query().Get("status"), Statuses: assetStatuses,
		Flash: r.URL.Query().Get("done")}
	u.renderAssetList(w, r, p, http.StatusOK, &d)
}

func (u *UI) renderAssetList(w http.ResponseWriter, r *http.Request, p civic.Principal, status int, d *assetListData) {
	k := d.Kind
	recs, err := k.list(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d.Total = len(recs)
	q := strings.ToLower(d.Q)
	for _, rec := range recs {
		if d.Status != "" && k.Status && recordCell(rec["status"]) != d.Status {
			continue
		}
		if q != "" {
			hit := false
			for _, v := range rec {
				if s, ok := v.(string); ok && strings.Contains(strings.ToLower(s), q) {
					hit = true
					break
				}
			}
			if !hit {
				continue
			}
		}
		d.Matched++
		if len(d.Rows) >= assetListSize {
			d.More = true
			continue
		}
		row := assetRow{ID: recordCell(rec["id"]), Status: recordCell(rec["status"])}
		for _, c := range k.Columns {
			row.Cells = append(row.Cells, recordCell(rec[c]))
		}
		d.Rows = append(d.Rows, row)
	}
	u.render(w, r, status, "adminassets", "", pageData{Title: k.Title, Active: "/admin", Principal: p, Data: d})
}

// assetFormField is a field with its value as the form shows it.
type assetFormField struct {
	assetField
	Value   string
	Checked bool
	Error   string
}

// assetFormData is the model of the create and edit form.
type assetFormData struct {
	Kind   assetKind
	ID     string // empty: a new asset
	Fields []assetFormField
	Error  string
	Field  string // the field the error is about
	Saved  bool
}

func formFields(k assetKind, rec map[string]any) []assetFormField {
	out := make([]assetFormField, 0, len(k.Fields))
	for _, f := range k.Fields {
		ff := assetFormField{assetField: f}
		v := rec[f.Name]
		switch f.Type {
		case "bool":
			ff.Checked, _ = v.(bool)
		case "json":
			if v != nil {
				b, _ := json.Marshal(v)
				ff.Value = string(b)
			}
		default:
			ff.Value = recordCell(v)
		}
		out = append(out, ff)
	}
	return out
}

func (u *UI) adminAssetNew(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	k, err := u.assetKind(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	rec := map[string]any{}
	// A new bin placed from the map's "add here" link.
	for _, f := range k.Fields {
		if v := r.URL.Query().Get(f.Name); v != "" {
			rec[f.Name] = v
		}
	}
	u.render(w, r, http.StatusOK, "adminasset", "", pageData{Title: "New " + k.Singular, Active: "/admin", Principal: p,
		Data: assetFormData{Kind: k, Fields: formFields(k, rec)}})
}

func (u *UI) adminAssetEdit(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	k, err := u.assetKind(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	rec, err := k.get(r.Context(), r.PathValue("id"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "adminasset", "", pageData{Title: k.Singular + " " + r.PathValue("id"), Active: "/admin", Principal: p,
		Data: assetFormData{Kind: k, ID: r.PathValue("id"), Fields: formFields(k, rec), Saved: r.URL.Query().Get("saved") != ""}})
}

// formRecord turns the posted form into the asset's JSON; the error names
// the field that does not parse.
func formRecord(k assetKind, form url.Values, keepID string) ([]byte, map[string]any, error) {
	rec := map[string]any{}
	var firstErr error
	for _, f := range k.Fields {
		s := strings.TrimSpace(form.Get(f.Name))
		if f.Name == "id" && keepID != "" {
			rec["id"] = keepID
			continue
		}
		switch f.Type {
		case "bool":
			rec[f.Name] = form.Get(f.Name) != ""
		case "number":
			if s == "" {
				if f.Required && firstErr == nil {
					firstErr = civic.FieldError(f.Name, "is required")
				}
				rec[f.Name] = 0.0
				continue
			}
			v, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", "."), 64)
			if err != nil {
				if firstErr == nil {
					firstErr = civic.FieldError(f.Name, "must be a number")
				}
				rec[f.Name] = s
				continue
			}
			rec[f.Name] = v
		case "list":
			items := []string{}
			for _, x := range strings.Split(s, ",") {
				if x = strings.TrimSpace(x); x != "" {
					items = append(items, x)
				}
			}
			rec[f.Name] = items
		case "json":
			if s == "" {
				if f.Required && firstErr == nil {
					firstErr = civic.FieldError(f.Name, "is required")
				}
				continue
			}
			var v any
			if err := json.Unmarshal([]byte(s), &v); err != nil {
				if firstErr == nil {
					firstErr = civic.FieldError(f.Name, "is not valid JSON: %s", err.Error())
				}
				rec[f.Name] = s
				continue
			}
			rec[f.Name] = v
		default:
			if s == "" && f.Required && firstErr == nil {
				firstErr = civic.FieldError(f.Name, "is required")
			}
			rec[f.Name] = s
		}
	}
	if firstErr != nil {
		return nil, rec, firstErr
	}
	b, err := json.Marshal(rec)
	return b, rec, err
}

// formError re-shows the form with the error next to its field.
func (u *UI) formError(w http.ResponseWriter, r *http.Request, p civic.Principal, k assetKind, id string, rec map[string]any, err error) {
	if civic.KindOf(err) == civic.Internal {
		u.fail(w, r, err)
		return
	}
	d := assetFormData{Kind: k, ID: id, Fields: formFields(k, rec), Error: civic.MessageOf(err), Field: civic.FieldOf(err)}
	for i := range d.Fields {
		if f := d.Field; f != "" && (f == d.Fields[i].Name || strings.HasPrefix(f, d.Fields[i].Name+".") || strings.HasPrefix(f, d.Fields[i].Name+"[")) {
			d.Fields[i].Error = d.Error
		}
	}
	title := "New " + k.Singular
	if id != "" {
		title = k.Singular + " " + id
	}
	u.render(w, r, httpStatusOf(err), "adminasset", "", pageData{Title: title, Active: "/admin", Principal: p, Data: d})
}

func (u *UI) adminAssetCreate(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	k, err := u.assetKind(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	if err := readForm(w, r); err != nil {
		u.fail(w, r, err)
		return
	}
	raw, rec, err := formRecord(k, r.PostForm, "")
	if err == nil {
		var id string
		if id, err = k.create(r.Context(), raw); err == nil {
			u.audit(r, p, k.Singular+".create", k.Singular+"/"+id, "admin page")
			u.AssetsChanged()
			http.Redirect(w, r, "/admin/assets/"+k.Key+"/"+url.PathEscape(id)+"?saved=1", http.StatusSeeOther)
			return
		}
	}
	u.formError(w, r, p, k, "", rec, err)
}

func (u *UI) adminAssetUpdate(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	k, err := u.assetKind(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	if err := readForm(w, r); err != nil {
		u.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	raw, rec, err := formRecord(k, r.PostForm, id)
	if err == nil {
		if err = k.update(r.Context(), id, raw); err == nil {
			u.audit(r, p, k.Singular+".update", k.Singular+"/"+id, "admin page")
			u.AssetsChanged()
			http.Redirect(w, r, "/admin/assets/"+k.Key+"/"+url.PathEscape(id)+"?saved=1", http.StatusSeeOther)
			return
		}
	}
	u.formError(w, r, p, k, id, rec, err)
}

// adminAssetDeactivate sets an asset's status to inactive, or deletes a
// kind of asset that has no status (zones, depots, crews).
func (u *UI) adminAssetDeactivate(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	k, err := u.assetKind(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	done := "deactivated " + id
	if k.Status {
		err = k.update(r.Context(), id, []byte(`{"status":"inactive"}`))
		if err == nil {
			u.audit(r, p, k.Singular+".update", k.Singular+"/"+id, "deactivated on the admin page")
		}
	} else {
		err = k.delete(r.Context(), id)
		done = "deleted " + id
		if err == nil {
			u.audit(r, p, k.Singular+".delete", k.Singular+"/"+id, "admin page")
		}
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.AssetsChanged()
	http.Redirect(w, r, "/admin/assets/"+k.Key+"?done="+url.QueryEscape(done), http.StatusSeeOther)
}

// httpStatusOf is the status a page answers a failed change with.
func httpStatusOf(err error) int {
	switch civic.KindOf(err) {
	case civic.Invalid:
		return http.StatusBadRequest
	case civic.Conflict:
		return http.StatusConflict
	case civic.NotFound:
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}
