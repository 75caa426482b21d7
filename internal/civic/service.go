package civic

import (
	"context"
	"time"
)

// AssetStore keeps the asset registry. Create methods fail with Conflict
// when the id exists, Update and Delete with NotFound when it does not, and
// every method fails with Invalid when its input does not validate.
// Timestamps CreatedAt and UpdatedAt are set by the store.
type AssetStore interface {
	// CreateBin stores a new bin. An empty ZoneID is filled with the first
	// zone whose boundary contains the bin.
	CreateBin(ctx context.Context, b *Bin) error
	UpdateBin(ctx context.Context, b *Bin) error
	DeleteBin(ctx context.Context, id string) error
	Bin(ctx context.Context, id string) (BinView, error)
	ListBins(ctx context.Context, f BinFilter) ([]BinView, error)
	// ImportBins creates or replaces the given bins in one transaction: all
	// of them or none.
	ImportBins(ctx context.Context, bins []Bin) error

	CreateDevice(ctx context.Context, d *Device) error
	UpdateDevice(ctx context.Context, d *Device) error
	DeleteDevice(ctx context.Context, id string) error
	Device(ctx context.Context, id string) (Device, error)
	DeviceByEUI(ctx context.Context, devEUI string) (Device, error)
	ListDevices(ctx context.Context) ([]Device, error)
	// ListDevicesPage is one page of ListDevices: at most limit devices
	// (0: no limit) in id order, offset of them skipped.
	ListDevicesPage(ctx context.Context, limit, offset int) ([]Device, error)

	// CreateZone stores a zone and assigns it to the bins without a zone
	// that lie inside it.
	CreateZone(ctx context.Context, z *Zone) error
	UpdateZone(ctx context.Context, z *Zone) error
	DeleteZone(ctx context.Context, id string) error
	Zone(ctx context.Context, id string) (Zone, error)
	ListZones(ctx context.Context) ([]Zone, error)

	CreateDepot(ctx context.Context, d *Depot) error
	UpdateDepot(ctx context.Context, d *Depot) error
	DeleteDepot(ctx context.Context, id string) error
	Depot(ctx context.Context, id string) (Depot, error)
	ListDepots(ctx context.Context) ([]Depot, error)

	CreateTruck(ctx context.Context, t *Truck) error
	UpdateTruck(ctx context.Context, t *Truck) error
	DeleteTruck(ctx context.Context, id string) error
	Truck(ctx context.Context, id string) (Truck, error)
	ListTrucks(ctx context.Context) ([]Truck, error)

	CreateCrew(ctx context.Context, c *Crew) error
	UpdateCrew(ctx context.Context, c *Crew) error
	DeleteCrew(ctx context.Context, id string) error
	Crew(ctx context.Context, id string) (Crew, error)
	ListCrews(ctx context.Context) ([]Crew, error)
}

// ReadingFolder is a reading store that keeps its newest readings apart
// from each device's history and can move them there at once (the store
// on SQLite). A reader of every device's history calls it first, so its
// reads seek instead of scanning the newest readings.
type ReadingFolder interface {
	FoldReadings(ctx context.Context) error
}

// ReadingStore keeps telemetry and the latest state of each bin.
type ReadingStore interface {
	// WriteReadings stores several batches of normalized readings in one
	// transaction and updates bin state in the same transaction. A reading
	// whose (Device, Time) is already stored, or appears earlier in the same
	// call, counts as a duplicate. It returns one result per batch. When it
	// returns nil the readings are durable.
	WriteReadings(ctx context.Context, batches [][]Reading) ([]IngestResult, error)
	// Readings returns raw readings, oldest first.
	Readings(ctx context.Context, q ReadingQuery) ([]Reading, error)
	// BinHistory returns the bin's readings over [from, to) downsampled into
	// buckets of step (aligned to Unix time), oldest first; empty buckets
	// are left out.
	BinHistory(ctx context.Context, binID string, from, to time.Time, step time.Duration) ([]HistoryPoint, error)
	// BinStates returns the latest state of every bin that has one.
	BinStates(ctx context.Context) ([]BinState, error)
}

// AccountStore keeps users, API keys and sessions.
type AccountStore interface {
	CreateUser(ctx context.Context, u *User) error // Conflict if the name is taken
	UpdateUser(ctx context.Context, u *User) error
	User(ctx context.Context, id string) (User, error)
	UserByName(ctx context.Context, name string) (User, error)
	// UserByIdentity finds the user linked to an OpenID Connect identity
	// (issuer and subject); NotFound if none is.
	UserByIdentity(ctx context.Context, issuer, subject string) (User, error)
	// CreateUserWithIdentity creates a user linked to an identity, both or
	// neither; Conflict if the name or the identity is taken.
	CreateUserWithIdentity(ctx context.Context, u *User, issuer, subject string) error
	ListUsers(ctx context.Context) ([]User, error)
	// UserIssuers returns, by user id, the OpenID Connect issuer of every
	// user who signs in through single sign-on.
	UserIssuers(ctx context.Context) (map[string]string, error)
	CountUsers(ctx context.Context) (int, error)

	CreateAPIKey(ctx context.Context, k *APIKey) error
	APIKey(ctx context.Context, id string) (APIKey, error)
	ListAPIKeys(ctx context.Context) ([]APIKey, error)
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
	TouchAPIKey(ctx context.Context, id string, at time.Time) error

	CreateSession(ctx context.Context, s *Session) error
	Session(ctx context.Context, tokenHash string) (Session, error) // NotFound if unknown or expired
	DeleteSession(ctx context.Context, tokenHash string) error
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
	// TouchSession moves a session's expiry (its idle deadline).
	TouchSession(ctx context.Context, tokenHash string, expiresAt time.Time) error
	// DeleteUserSessions ends every session of a user and says how many
	// there were.
	DeleteUserSessions(ctx context.Context, userID string) (int, error)
}

// AuditStore keeps the audit log.
type AuditStore interface {
	AppendAudit(ctx context.Context, e *AuditEntry) error
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
}

// Store is everything civic persists. *store.Store implements it for SQLite
// and PostgreSQL.
type Store interface {
	AssetStore
	ReadingStore
	AccountStore
	AuditStore
	// Ping checks the database answers.
	Ping(ctx context.Context) error
	Close() error
}

// Ingester accepts readings from any transport (HTTP, MQTT, LoRaWAN). It
// validates and normalizes them against the device registry, and returns
// only after they are committed. An invalid reading fails the whole batch
// with an Invalid error whose field names the reading's index, e.g.
// "readings[3].fill"; nothing of that batch is stored.
type Ingester interface {
	Ingest(ctx context.Context, readings []Reading) (IngestResult, error)
}
