package server

import (
	_ "embed"
	"net/http"
)

// openapiJSON is the OpenAPI 3.1 description of the JSON API, written by
// hand and kept true by tests that validate real responses against it.
//
//go:embed openapi.json
var openapiJSON []byte

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(openapiJSON)
}
