package sim_test

import (
	"fmt"
	"time"

	"github.com/civic-city/civic/internal/sim"
)

// The demo server's loop: backfill history under the city's old fixed
// schedule, then step the sensors with the clock and let the planner and
// crews decide collections.
func ExampleSensors() {
	city := sim.GenerateCity(sim.CityParams{Bins: 100, Seed: 1})
	now := city.Params.Start.Add(30 * 24 * time.Hour) // the server passes time.Now()

	s := sim.NewSensors(city, sim.SensorParams{
		Seed:   1,
		Start:  now.Add(-30 * 24 * time.Hour),
		Policy: sim.Policy{Kind: sim.PolicyFixed},
	})
	history := s.Step(now) // a month of readings to ingest at start-up
	if err := s.SetPolicy(sim.Policy{}); err != nil {
		panic(err)
	}

	// Every tick: ingest what the sensors sent since the last one.
	now = now.Add(time.Minute)
	live := s.Step(now)

	// A crew checks off a stop.
	before, err := s.Empty(city.Bins[0].ID, now)
	fmt.Println(len(history) > 250000, len(live) > 0, before > 0, err, s.TrueFill(city.Bins[0].ID) < 0.02)
	// Output: true true true <nil> true
}

func ExampleGenerateCity() {
	c := sim.GenerateCity(sim.CityParams{Bins: 500, Seed: 3})
	fmt.Println(len(c.Bins), len(c.Devices), len(c.Zones), len(c.Depots), len(c.Trucks), len(c.Crews))
	fmt.Println(c.Zones[0].Name, c.Bins[0].ID, c.Devices[0].ID)
	// Output:
	// 500 500 8 2 7 7
	// Center City B-0001 D-0001
}
