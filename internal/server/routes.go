package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// route is one entry of the route table: a net/http ServeMux pattern and
// its handler.
type route struct {
	pattern string
	handler http.Handler
}

// routes is the route table. To add endpoints, append entries here (one
// handler per file); JSON API handlers are apiFuncs wrapped with s.api.
// Every /api/ route must be described in openapi.json: a test checks.
func (s *Server) routes() []route {
	bins, devices, zones := s.bins(), s.devices(), s.zones()
	depots, trucks, crews := s.depots(), s.trucks(), s.crews()
	facilities := s.facilities()
	rs := []route{
		// Operations.
		{"GET /healthz", s.api(s.handleHealthz)},
		{"GET /readyz", s.api(s.handleReadyz)},
		{"GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})},
		{"GET /api/openapi.json", http.HandlerFunc(s.handleOpenAPI)},

		// Sessions and the caller.
		{"POST /api/v1/session", s.api(s.handleLogin)},
		{"DELETE /api/v1/session", s.api(s.handleLogout)},
		{"GET /api/v1/me", s.api(s.handleMe)},

		// Assets.
		{"GET /api/v1/bins", s.api(s.handleListBins)},
		{"POST /api/v1/bins", s.api(bins.handleCreate)},
		{"GET /api/v1/bins/{id}", s.api(bins.handleGet)},
		{"PUT /api/v1/bins/{id}", s.api(bins.handlePut)},
		{"PATCH /api/v1/bins/{id}", s.api(bins.handlePatch)},
		{"DELETE /api/v1/bins/{id}", s.api(bins.handleDelete)},
		{"GET /api/v1/bins/{id}/readings", s.api(s.handleBinReadings)},
		{"GET /api/v1/bins/{id}/forecast", s.api(s.handleBinForecast)},

		{"GET /api/v1/devices", s.api(s.handleListDevices)},
		{"POST /api/v1/devices", s.api(devices.handleCreate)},
		{"GET /api/v1/devices/{id}", s.api(s.handleGetDevice)},
		{"PUT /api/v1/devices/{id}", s.api(devices.handlePut)},
		{"PATCH /api/v1/devices/{id}", s.api(devices.handlePatch)},
		{"DELETE /api/v1/devices/{id}", s.api(devices.handleDelete)},
		{"POST /api/v1/devices/{id}/secret", s.api(s.handleDeviceSecret)},
		{"GET /api/v1/devices/{id}/events", s.api(s.handleDeviceEvents)},

		{"GET /api/v1/zones", s.api(zones.handleList)},
		{"POST /api/v1/zones", s.api(zones.handleCreate)},
		{"GET /api/v1/zones/{id}", s.api(zones.handleGet)},
		{"PUT /api/v1/zones/{id}", s.api(zones.handlePut)},
		{"PATCH /api/v1/zones/{id}", s.api(zones.handlePatch)},
		{"DELETE /api/v1/zones/{id}", s.api(zones.handleDelete)},

		{"GET /api/v1/depots", s.api(depots.handleList)},
		{"POST /api/v1/depots", s.api(depots.handleCreate)},
		{"GET /api/v1/depots/{id}", s.api(depots.handleGet)},
		{"PUT /api/v1/depots/{id}", s.api(depots.handlePut)},
		{"PATCH /api/v1/depots/{id}", s.api(depots.handlePatch)},
		{"DELETE /api/v1/depots/{id}", s.api(depots.handleDelete)},

		{"GET /api/v1/trucks", s.api(trucks.handleList)},
		{"POST /api/v1/trucks", s.api(trucks.handleCreate)},
		{"GET /api/v1/trucks/{id}", s.api(trucks.handleGet)},
		{"PUT /api/v1/trucks/{id}", s.api(trucks.handlePut)},
		{"PATCH /api/v1/trucks/{id}", s.api(trucks.handlePatch)},
		{"DELETE /api/v1/trucks/{id}", s.api(trucks.handleDelete)},

		{"GET /api/v1/crews", s.api(crews.handleList)},
		{"POST /api/v1/crews", s.api(crews.handleCreate)},
		{"GET /api/v1/crews/{id}", s.api(crews.handleGet)},
		{"PUT /api/v1/crews/{id}", s.api(crews.handlePut)},
		{"PATCH /api/v1/crews/{id}", s.api(crews.handlePatch)},
		{"DELETE /api/v1/crews/{id}", s.api(crews.handleDelete)},

		{"GET /api/v1/facilities", s.api(facilities.handleList)},
		{"POST /api/v1/facilities", s.api(facilities.handleCreate)},
		{"GET /api/v1/facilities/{id}", s.api(facilities.handleGet)},
		{"PUT /api/v1/facilities/{id}", s.api(facilities.handlePut)},
		{"PATCH /api/v1/facilities/{id}", s.api(facilities.handlePatch)},
		{"DELETE /api/v1/facilities/{id}", s.api(facilities.handleDelete)},

		// Collection plans (plans.go), the crews' routes and reports
		// (crew.go), collection events (collections.go).
		{"GET /api/v1/plans", s.api(s.handleListPlans)},
		{"POST /api/v1/plans", s.api(s.handleCreatePlan)},
		{"GET /api/v1/plans/{id}", s.api(s.handleGetPlan)},
		{"GET /api/v1/plans/date/{date}", s.api(s.handlePlanForDate)},
		{"POST /api/v1/plans/{id}/moves", s.api(s.handleMovePlan)},
		{"POST /api/v1/plans/{id}/lock", s.api(s.handleLockPlan)},
		{"POST /api/v1/plans/{id}/unlock", s.api(s.handleUnlockPlan)},
		{"GET /api/v1/plan-settings", s.api(s.handleGetPlanSettings)},
		{"PUT /api/v1/plan-settings", s.api(s.handlePutPlanSettings)},
		{"GET /api/v1/routes/{id}", s.api(s.handleGetRoute)},
		{"GET /api/v1/me/routes", s.api(s.handleMyRoutes)},
		{"POST /api/v1/stops/{id}/report", s.apiLimit(s.handleReportStop, maxReportBytes)},
		{"GET /api/v1/stops/{id}/photo", s.api(s.handleStopPhoto)},
		{"GET /api/v1/collections", s.api(s.handleListCollections)},
		{"GET /api/v1/kpi", s.api(s.handleKPIs)},
		{"GET /api/v1/simulations", s.api(s.handleListSimulations)},
		{"POST /api/v1/simulations", s.api(s.handleStartSimulation)},
		{"GET /api/v1/simulations/{id}", s.api(s.handleGetSimulation)},
		{"DELETE /api/v1/simulations/{id}", s.api(s.handleDeleteSimulation)},

		// Telemetry.
		{"POST /api/v1/readings", s.apiLimit(s.handlePostReadings, s.cfg.MaxIngestBytes)},
		{"POST /api/v1/lorawan/ttn", s.api(s.handleTTN)},
		{"POST /api/v1/lorawan/chirpstack", s.api(s.handleChirpStack)},

		// Access: users, API keys, audit log.
		{"GET /api/v1/users", s.api(s.handleListUsers)},
		{"POST /api/v1/users", s.api(s.handleCreateUser)},
		{"GET /api/v1/users/{id}", s.api(s.handleGetUser)},
		{"PATCH /api/v1/users/{id}", s.api(s.handlePatchUser)},
		{"GET /api/v1/keys", s.api(s.handleListKeys)},
		{"POST /api/v1/keys", s.api(s.handleCreateKey)},
		{"GET /api/v1/keys/{id}", s.api(s.handleGetKey)},
		{"DELETE /api/v1/keys/{id}", s.api(s.handleRevokeKey)},
		{"GET /api/v1/audit", s.api(s.handleListAudit)},
	}
	// Alerts and notifications (alerts.go).
	rs = append(rs, s.alertRoutes()...)
	// Open data: the catalogue, the datasets and NGSI-LD (opendata.go).
	rs = append(rs, s.opendataRoutes()...)
	// 311: the staff API and GeoReport v2 (servicerequests.go).
	rs = append(rs, s.open311Routes()...)
	if s.pages != nil {
		// Everything else: the web dashboard.
		rs = append(rs, route{"/", s.pages})
	}
	return rs
}
