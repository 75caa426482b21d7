// Package sim is civic's synthetic city: a generator of realistic assets
// (bins, fill sensors, zones, depots, trucks and crews) and a model of the
// waste that fills the bins and of the sensors that report it.
//
// It serves the demo ("civic demo generate", the demo server's live
// readings), the forecast backtest (History) and the what-if simulator. It is
// pure and deterministic: the same parameters and seed give the same city and
// the same readings, randomness comes from seeded math/rand/v2 PCG sources,
// and time is whatever the caller passes in; nothing reads the clock.
//
// The model is calibrated on the public facts in shared/data/calibration.md
// (Philadelphia's 2014 Bigbelly collections): stations cluster along
// commercial corridors and downtown, fill rates differ by more than an order
// of magnitude across the city, compacting stations hold about 568 L, and
// under a fixed schedule the median time between two collections of a bin is
// about two days, with nearly half the collections emptying a fairly empty
// bin.
//
// A City comes from GenerateCity. Sensors (NewSensors) simulate its fill
// sensors in time: Step advances the clock and returns the uplinks sent,
// Empty records a collection, AddEvent injects street fairs, fires and stuck
// sensors, and TrueFill / TrueRate expose the hidden truth that tests and the
// simulator compare forecasts with. History runs Sensors with an automatic
// collection Policy to produce days of past readings at once.
//
// Sensors keep each bin's waste account (Ledgers): what was thrown at it,
// collected, left in it and overflowed onto the street once it was full,
// and the hours it spent full. The account balances, and what is thrown at
// a bin depends only on the seed, the bin and the time, never on the
// collections: the what-if simulator (internal/whatif) compares policies
// on the same waste that way.
package sim
