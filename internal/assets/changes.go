package assets

import "github.com/civic-city/civic/internal/civic"

// Changes sorts the bins of an import against the stored ones: what the
// import would create, what it would change, and what it would leave as
// it is.
type Changes struct {
	Create    []civic.Bin
	Update    []civic.Bin
	Unchanged []civic.Bin
}

// CompareBins returns what importing incoming (normalized bins, as the
// readers return them) over stored would do. A bin is unchanged when every
// attribute the file gives equals the stored one; an empty zone_id in the
// file keeps the stored zone (the store assigns zones by location), and
// timestamps are not compared.
func CompareBins(stored []civic.Bin, incoming []civic.Bin) Changes {
	byID := make(map[string]*civic.Bin, len(stored))
	for i := range stored {
		byID[stored[i].ID] = &stored[i]
	}
	var c Changes
	for _, b := range incoming {
		old, ok := byID[b.ID]
		switch {
		case !ok:
			c.Create = append(c.Create, b)
		case sameBin(*old, b):
			c.Unchanged = append(c.Unchanged, b)
		default:
			c.Update = append(c.Update, b)
		}
	}
	return c
}

func sameBin(old, b civic.Bin) bool {
	if b.ZoneID == "" {
		b.ZoneID = old.ZoneID
	}
	old.CreatedAt, old.UpdatedAt = b.CreatedAt, b.UpdatedAt
	return old == b
}
