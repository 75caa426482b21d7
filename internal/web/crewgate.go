package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/civic-city/civic/internal/civic"
)

// Crew members (civic.Principal.CrewOnly) see their own crews' routes, on
// the crew page and as route sheets and exports, and nothing else of a
// plan: not the plans list, a whole plan, its exports or its report.
var (
	crewDeniedPatterns = []string{
		"GET /plans", "GET /plans/{id}", "GET /plans/{id}/export/{format}",
		"GET /plans/{id}/report", "GET /plans/{id}/report.csv",
	}
	crewRoutePatterns = []string{
		"GET /plans/{id}/routes/{rid}/sheet", "GET /plans/{id}/routes/{rid}/export/{format}",
	}
)

// crewGate wraps the handler of pattern with the crew rule, for the
// patterns it concerns; others are returned as they are.
func (u *UI) crewGate(pattern string, h http.Handler) http.Handler {
	denied, perRoute := slices.Contains(crewDeniedPatterns, pattern), slices.Contains(crewRoutePatterns, pattern)
	if !denied && !perRoute {
		return h
	}
	data := strings.Contains(pattern, "export") || strings.HasSuffix(pattern, ".csv")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := civic.PrincipalFrom(r.Context())
		if !p.CrewOnly() {
			h.ServeHTTP(w, r)
			return
		}
		fail := func(err error) {
			if data {
				u.dataError(w, r, err)
			} else {
				u.fail(w, r, err)
			}
		}
		if denied {
			fail(civic.Errorf(civic.Forbidden, "Crews see their routes on the crew page."))
			return
		}
		if u.deps.Plans != nil {
			rt, err := u.deps.Plans.Route(r.Context(), r.PathValue("rid"))
			if err == nil {
				crews, err := u.deps.Store.ListCrews(r.Context())
				if err != nil {
					fail(err)
					return
				}
				if !slices.ContainsFunc(myCrews(crews, p), func(c civic.Crew) bool { return c.ID == rt.CrewID }) {
					fail(civic.Errorf(civic.Forbidden, "This route belongs to another crew."))
					return
				}
			}
		}
		h.ServeHTTP(w, r)
	})
}
