// Package plan plans a service day's waste collection: which bins to empty
// (Decide), the vehicle routing problem that question becomes for each
// waste stream (Build), the travel times between the places involved
// (Matrix: great-circle estimates or an OSRM server), and the routes,
// stops and figures of a civic.Plan made from the solver's answer
// (Assemble). Plan runs the whole pipeline; Reoptimise re-solves a draft
// after a supervisor's edit.
//
// Everything here is a function of its inputs: the caller reads bins,
// readings, forecasts, alerts and the fleet from the store and passes them
// in, and injects the solver, so tests and the simulator control both. The
// only I/O is the optional OSRM client.
package plan
