package open311

import "github.com/civic-city/civic/internal/civic"

// DefaultServices is the catalogue a new city starts with. Between them
// the attributes use every GeoReport datatype.
func DefaultServices() []civic.Service {
	yesNo := []civic.AttributeValue{{Key: "yes", Name: "Yes"}, {Key: "no", Name: "No"}}
	binKind := civic.ServiceAttribute{Code: "bin_kind", Variable: true, Datatype: civic.AttrSingle, Required: true, Order: 1,
		Description: "What kind of bin is it?", Values: []civic.AttributeValue{
			{Key: "litter", Name: "Street litter bin"}, {Key: "recycling", Name: "Recycling bank"},
			{Key: "compactor", Name: "Solar compactor"}, {Key: "household", Name: "Household bin"}}}
	svc := func(code, name, group, dept, desc string, sla float64, kw []string, link bool, attrs ...civic.ServiceAttribute) civic.Service {
		if attrs == nil {
			attrs = []civic.ServiceAttribute{}
		}
		return civic.Service{Code: code, Name: name, Group: group, Department: dept, Description: desc, SLAHours: sla,
			Keywords: kw, WasteLink: link, Active: true, Attributes: attrs}
	}
	services := []civic.Service{
		svc("overflowing-bin", "Overflowing bin", "sanitation", "sanitation",
			"A public bin is full or overflowing.", 24, []string{"bin", "trash", "litter", "full"}, true,
			binKind,
			civic.ServiceAttribute{Code: "spilled", Variable: true, Datatype: civic.AttrSingle, Order: 2,
				Description: "Is rubbish spilling onto the ground?", Values: yesNo}),
		svc("damaged-bin", "Damaged bin", "sanitation", "sanitation",
			"A bin is broken, burnt, tipped over or missing its lid.", 120, []string{"bin", "broken", "lid"}, false,
			binKind,
			civic.ServiceAttribute{Code: "damage", Variable: true, Datatype: civic.AttrMulti, Required: true, Order: 2,
				Description: "What is wrong with it?", Values: []civic.AttributeValue{
					{Key: "lid", Name: "Lid broken or missing"}, {Key: "burnt", Name: "Burnt"}, {Key: "tipped", Name: "Tipped over"},
					{Key: "sensor", Name: "Sensor box damaged"}, {Key: "other", Name: "Something else"}}}),
		svc("illegal-dumping", "Illegal dumping", "sanitation", "sanitation",
			"Rubbish, furniture or other waste dumped in a public place.", 72, []string{"dumping", "fly-tipping", "mattress"}, false,
			civic.ServiceAttribute{Code: "items", Variable: true, Datatype: civic.AttrMulti, Required: true, Order: 1,
				Description: "What was dumped?", Values: []civic.AttributeValue{
					{Key: "bags", Name: "Bags of rubbish"}, {Key: "furniture", Name: "Furniture or mattress"},
					{Key: "appliance", Name: "Appliance"}, {Key: "tyres", Name: "Tyres"}, {Key: "construction", Name: "Construction waste"},
					{Key: "hazardous", Name: "Chemicals or other hazardous waste"}}},
			civic.ServiceAttribute{Code: "volume_m3", Variable: true, Datatype: civic.AttrNumber, Order: 2,
				Description: "Roughly how much, in cubic metres?", DatatypeDescription: "A number, e.g. 0.5"},
			civic.ServiceAttribute{Code: "seen_at", Variable: true, Datatype: civic.AttrDatetime, Order: 3,
				Description: "When did you see it being dumped, if you did?", DatatypeDescription: "Date and time, e.g. 2026-03-10T08:15:00Z"},
			civic.ServiceAttribute{Code: "vehicle", Variable: true, Datatype: civic.AttrString, Order: 4,
				Description: "Vehicle registration, if you saw one"},
			civic.ServiceAttribute{Code: "safety", Variable: false, Datatype: civic.AttrString, Order: 5,
				Description: "Do not touch hazardous waste; call 911 if anyone is in danger."}),
		svc("litter", "Litter", "sanitation", "sanitation",
			"Litter on a street, path or park.", 72, []string{"litter", "rubbish", "glass"}, false,
			civic.ServiceAttribute{Code: "glass", Variable: true, Datatype: civic.AttrSingle, Order: 1,
				Description: "Is there broken glass?", Values: yesNo}),
		svc("missed-collection", "Missed collection", "sanitation", "sanitation",
			"A bin was not emptied on its collection day.", 24, []string{"collection", "missed", "bin"}, true,
			binKind,
			civic.ServiceAttribute{Code: "details", Variable: true, Datatype: civic.AttrText, Order: 2,
				Description: "Anything else the crew should know (access, gate code)?"}),
		svc("graffiti", "Graffiti", "streets", "public-works",
			"Graffiti on public property.", 168, []string{"graffiti", "vandalism", "tag"}, false,
			civic.ServiceAttribute{Code: "surface", Variable: true, Datatype: civic.AttrSingle, Required: true, Order: 1,
				Description: "What is it on?", Values: []civic.AttributeValue{
					{Key: "wall", Name: "Wall or building"}, {Key: "sign", Name: "Sign"}, {Key: "bin", Name: "Bin"},
					{Key: "other", Name: "Something else"}}},
			civic.ServiceAttribute{Code: "offensive", Variable: true, Datatype: civic.AttrSingle, Order: 2,
				Description: "Is it offensive?", Values: yesNo}),
		svc("pothole", "Pothole", "streets", "public-works",
			"A hole or damage in a road or cycle lane.", 120, []string{"pothole", "road", "street"}, false,
			civic.ServiceAttribute{Code: "depth_cm", Variable: true, Datatype: civic.AttrNumber, Order: 1,
				Description: "About how deep, in centimetres?"},
			civic.ServiceAttribute{Code: "lane", Variable: true, Datatype: civic.AttrSingle, Order: 2,
				Description: "Where in the road?", Values: []civic.AttributeValue{
					{Key: "road", Name: "Traffic lane"}, {Key: "bike", Name: "Cycle lane"}, {Key: "crossing", Name: "Crossing"}}}),
		svc("streetlight", "Streetlight out", "streets", "public-works",
			"A streetlight is out, flickering or on during the day.", 120, []string{"light", "lamp", "streetlight"}, false,
			civic.ServiceAttribute{Code: "pole_id", Variable: true, Datatype: civic.AttrString, Order: 1,
				Description: "The number on the pole, if you can see it"},
			civic.ServiceAttribute{Code: "problem", Variable: true, Datatype: civic.AttrSingle, Required: true, Order: 2,
				Description: "What is wrong?", Values: []civic.AttributeValue{
					{Key: "out", Name: "Out"}, {Key: "flicker", Name: "Flickering"}, {Key: "day", Name: "On during the day"}}}),
	}
	for i := range services {
		// About a bin, but no reason to empty it.
		services[i].BinLink = services[i].Code == "damaged-bin"
	}
	return services
}
