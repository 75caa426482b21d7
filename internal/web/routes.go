package web

import (
	"net/http"
	"sync"
)

// routeMux is the dashboard's ServeMux, remembering the patterns
// registered on it for Routes.
// It also puts the crew rule (crewgate.go) in front of the plan routes.
type routeMux struct {
	*http.ServeMux
	u        *UI
	patterns []string
}

func newRouteMux(u *UI) *routeMux { return &routeMux{ServeMux: http.NewServeMux(), u: u} }

func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, m.u.crewGate(pattern, h))
}

func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}

// routeList keeps the patterns of the last Handler built.
type routeList struct {
	mu       sync.Mutex
	patterns []string
}

// Routes returns the patterns of every page, stream and download the
// dashboard serves, as Handler registers them: the access-control test
// checks each against its table.
func (u *UI) Routes() []string {
	u.Handler()
	u.routes.mu.Lock()
	defer u.routes.mu.Unlock()
	return append([]string(nil), u.routes.patterns...)
}
