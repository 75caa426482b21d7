package open311_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/open311"
)

// FuzzForm feeds arbitrary urlencoded bodies through the form parser and
// the attribute checks of every default service: no panic, and every
// failure is an Invalid error naming a field.
func FuzzForm(f *testing.F) {
	for _, seed := range []string{
		"service_code=overflowing-bin&lat=39.9&long=-75.1&attribute[bin_kind]=litter&attribute[spilled]=yes",
		"service_code=damaged-bin&address_string=1+Main+St&attribute[bin_kind]=compactor&attribute[damage][]=lid&attribute[damage][]=burnt",
		"service_code=illegal-dumping&lat=1&long=2&attribute[items][]=bags&attribute[volume_m3]=0.5&attribute[seen_at]=2026-03-10T08:15:30-05:00",
		"service_code=missed-collection&address_id=42&attribute[bin_kind]=household&attribute[details]=gate+code+1234%0Aback+door",
		"attribute[=x&attribute[]]=y&attribute[a][b]=z&attributes=1",
		"service_code=pothole&lat=NaN&long=Inf&attribute[depth_cm]=1e400",
		"service_code=%00&lat=&long=1",
	} {
		f.Add(seed)
	}
	svcs := map[string]civic.Service{}
	for _, s := range open311.DefaultServices() {
		svcs[s.Code] = s
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		sub, err := open311.SubmissionFromForm(form)
		if err != nil {
			if civic.KindOf(err) != civic.Invalid || civic.FieldOf(err) == "" {
				t.Fatalf("SubmissionFromForm(%q) = %v, want Invalid naming a field", body, err)
			}
			return
		}
		if err := sub.Request.Validate(); err != nil && civic.FieldOf(err) == "" {
			t.Fatalf("Validate: %v names no field", err)
		}
		svc, ok := svcs[sub.Request.ServiceCode]
		if !ok {
			return
		}
		clean, err := svc.CheckAttributes(sub.Attributes)
		if err != nil {
			if civic.KindOf(err) != civic.Invalid || !strings.HasPrefix(civic.FieldOf(err), "attribute[") {
				t.Fatalf("CheckAttributes(%v) = %v, want Invalid naming attribute[...]", sub.Attributes, err)
			}
			return
		}
		for code, vs := range clean {
			if len(vs) == 0 {
				t.Fatalf("attribute %s kept with no values", code)
			}
		}
		for _, a := range svc.Attributes {
			if a.Required && len(clean[a.Code]) == 0 {
				t.Fatalf("required attribute %s accepted without a value", a.Code)
			}
		}
	})
}
