package sim

import (
	"fmt"
	"math"
)

// The street grid that names generated places. It is laid out like a
// Philadelphia-style grid around the centre: numbered streets run north-south
// (numbers grow westwards, "Broad St" in the middle), named streets run
// east-west ("Market St" through the centre). The grid is only a naming
// scheme: nothing routes along it.
const (
	nsBlockM = 150.0 // metres between numbered (north-south) streets
	ewBlockM = 180.0 // metres between named (east-west) streets
	broadNo  = 14    // the numbered street that is Broad St
)

// ewNorth and ewSouth name the east-west streets north and south of Market St,
// nearest first.
var ewNorth = []string{
	"Arch", "Race", "Vine", "Callowhill", "Spring Garden", "Green", "Fairmount", "Brown",
	"Poplar", "Girard", "Thompson", "Master", "Jefferson", "Oxford", "Columbia", "Diamond",
	"Susquehanna", "Dauphin", "York", "Cumberland", "Huntingdon", "Lehigh", "Somerset", "Cambria",
	"Indiana", "Clearfield", "Allegheny", "Westmoreland", "Ontario", "Tioga", "Venango", "Erie",
	"Butler", "Pike", "Lycoming", "Hunting Park", "Cayuga", "Wingohocking", "Courtland", "Wyoming",
	"Roosevelt", "Rockland", "Ruscomb", "Lindley", "Olney", "Chew", "Godfrey", "Cheltenham",
}

var ewSouth = []string{
	"Chestnut", "Walnut", "Locust", "Spruce", "Pine", "Lombard", "South", "Bainbridge",
	"Catharine", "Christian", "Carpenter", "Washington", "Ellsworth", "Federal", "Wharton", "Reed",
	"Dickinson", "Tasker", "Morris", "Moore", "Mifflin", "McKean", "Snyder", "Jackson",
	"Wolf", "Ritner", "Porter", "Shunk", "Oregon", "Johnston", "Bigler", "Pollock",
	"Packer", "Hartranft", "Geary", "Hastings", "Penrose", "Schuylkill", "Lanier", "Harbor",
	"Delmar", "Tinicum", "Hog Island", "Enterprise", "Island", "Essington", "Lindbergh", "Elmwood",
}

// eastNames name the north-south streets east of Front St, nearest first.
var eastNames = []string{
	"Delaware", "Columbus", "Penn", "Beach", "Richmond", "Aramingo", "Thompson", "Tulip",
	"Almond", "Cedar", "Gaul", "Belgrade", "Memphis", "Salmon", "Mercer", "Edgemont",
	"Livingston", "Sepviva", "Emerald", "Jasper", "Frankford", "Amber", "Coral", "Trenton",
	"Kensington", "Hagert", "Boudinot", "Weymouth", "Torresdale", "Castor", "Oakland", "Horrocks",
	"Rising Sun", "Bustleton", "Roosevelt", "Krewstown", "Verree", "Pine Road", "Byberry", "Academy",
	"Knights", "Red Lion", "Comly", "Grant", "Welsh", "Woodhaven", "Blue Grass", "Ashton",
}

// corridorNames name the diagonal commercial avenues.
var corridorNames = []string{
	"Ridge Ave", "Passyunk Ave", "Germantown Ave", "Lancaster Ave", "Frankford Ave", "Baltimore Ave",
	"Kensington Ave", "Woodland Ave", "Oregon Ave", "Cecil B Moore Ave",
}

var firstNames = []string{
	"James", "Maria", "Robert", "Aisha", "Michael", "Linh", "David", "Carmen", "Kevin", "Tamika",
	"Jose", "Emily", "Anthony", "Grace", "Daniel", "Fatima", "Brian", "Rosa", "Marcus", "Priya",
	"Luis", "Keisha", "Sean", "Mei", "Andre", "Olivia", "Tyrone", "Ana", "Patrick", "Jasmine",
}

var lastNames = []string{
	"Johnson", "Rivera", "Williams", "Nguyen", "Brown", "Martinez", "Jones", "Kim", "Davis", "Lopez",
	"Miller", "Jackson", "Wilson", "Thomas", "Moore", "Garcia", "Taylor", "Harris", "Clark", "Lewis",
	"Walker", "Robinson", "Young", "Allen", "King", "Wright", "Scott", "Green", "Baker", "Adams",
	"Nelson", "Hill", "Ramirez", "Campbell", "Mitchell", "Roberts", "Carter", "Phillips", "Evans", "Turner",
}

// ordinal formats n as "1st", "2nd", "13th", "22nd".
func ordinal(n int) string {
	suffix := "th"
	switch n % 100 {
	case 11, 12, 13:
	default:
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return fmt.Sprintf("%d%s", n, suffix)
}

// pickName returns list[i], or a variant of it when i runs past the end of
// the list (cities bigger than the lists).
func pickName(list []string, i int, suffix, altSuffix string) string {
	if i < len(list) {
		return list[i] + " " + suffix
	}
	return list[i%len(list)] + " " + altSuffix
}

// nsBlock is the index of the numbered-street block at x metres east of the
// centre; ewBlock the named-street block at y metres north.
func nsBlock(x float64) int { return int(math.Round(x / nsBlockM)) }
func ewBlock(y float64) int { return int(math.Round(y / ewBlockM)) }

// streetNo is the number of the north-south street of block bx (numbers grow
// westwards; 1 is Front St).
func streetNo(bx int) int { return broadNo - bx }

// nsStreetName names the north-south street of block bx.
func nsStreetName(bx int) string {
	n := streetNo(bx)
	switch {
	case n == broadNo:
		return "Broad St"
	case n == 1:
		return "Front St"
	case n > 1:
		return ordinal(n) + " St"
	}
	return pickName(eastNames, -n, "St", "Ave")
}

// ewStreetName names the east-west street of block by.
func ewStreetName(by int) string {
	switch {
	case by == 0:
		return "Market St"
	case by > 0:
		return pickName(ewNorth, by-1, "St", "Ave")
	}
	return pickName(ewSouth, -by-1, "St", "Ave")
}

// houseNumber is a plausible street number for a place on an east-west
// street at block bx (hundreds follow the cross street) or on a north-south
// street at block by; odd on one side, even on the other.
func houseNumber(block int, frac float64, odd bool) int {
	if block < 0 {
		block = -block
	}
	n := block*100 + int(frac*48)*2
	if odd {
		n++
	}
	if n < 1 {
		n = 1
	}
	return n
}

// compass names the direction of angle a (radians, counter-clockwise from
// east) on an 8-point compass.
func compass(a float64) string {
	names := []string{"East", "Northeast", "North", "Northwest", "West", "Southwest", "South", "Southeast"}
	deg := math.Mod(a*180/math.Pi+720+22.5, 360)
	return names[int(deg/45)%8]
}

// compassAbbr is compass abbreviated: "E", "NE", "N", ...
func compassAbbr(a float64) string {
	names := []string{"E", "NE", "N", "NW", "W", "SW", "S", "SE"}
	deg := math.Mod(a*180/math.Pi+720+22.5, 360)
	return names[int(deg/45)%8]
}
