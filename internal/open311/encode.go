package open311

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// The GeoReport v2 documents. One struct serves both formats: JSON has
// null where XML leaves an element out (nil pointers).

type discoveryDoc struct {
	XMLName    xml.Name            `xml:"discovery" json:"-"`
	Changeset  string              `xml:"changeset" json:"changeset"`
	Contact    string              `xml:"contact" json:"contact"`
	KeyService string              `xml:"key_service" json:"key_service"`
	Endpoints  []discoveryEndpoint `xml:"endpoints>endpoint" json:"endpoints"`
}

type discoveryEndpoint struct {
	Specification string   `xml:"specification" json:"specification"`
	URL           string   `xml:"url" json:"url"`
	Changeset     string   `xml:"changeset" json:"changeset"`
	Type          string   `xml:"type" json:"type"`
	Formats       []string `xml:"formats>format" json:"formats"`
}

type serviceDoc struct {
	XMLName     xml.Name `xml:"service" json:"-"`
	ServiceCode string   `xml:"service_code" json:"service_code"`
	ServiceName string   `xml:"service_name" json:"service_name"`
	Description string   `xml:"description" json:"description"`
	Metadata    bool     `xml:"metadata" json:"metadata"`
	Type        string   `xml:"type" json:"type"`
	Keywords    string   `xml:"keywords" json:"keywords"`
	Group       string   `xml:"group" json:"group"`
}

type servicesDoc struct {
	XMLName  xml.Name     `xml:"services"`
	Services []serviceDoc `xml:"service"`
}

type attributeDoc struct {
	Variable            bool       `xml:"variable" json:"variable"`
	Code                string     `xml:"code" json:"code"`
	Datatype            string     `xml:"datatype" json:"datatype"`
	Required            bool       `xml:"required" json:"required"`
	DatatypeDescription *string    `xml:"datatype_description" json:"datatype_description"`
	Order               int        `xml:"order" json:"order"`
	Description         string     `xml:"description" json:"description"`
	Values              []valueDoc `xml:"values>value,omitempty" json:"values,omitempty"`
}

type valueDoc struct {
	Key  string `xml:"key" json:"key"`
	Name string `xml:"name" json:"name"`
}

type definitionDoc struct {
	XMLName     xml.Name       `xml:"service_definition" json:"-"`
	ServiceCode string         `xml:"service_code" json:"service_code"`
	Attributes  []attributeDoc `xml:"attributes>attribute" json:"attributes"`
}

// requestDoc is a request in GET requests, requests/{id}, POST requests
// and tokens/{token}; the fields a response does not have stay nil.
type requestDoc struct {
	XMLName           xml.Name `xml:"request" json:"-"`
	ServiceRequestID  string   `xml:"service_request_id" json:"service_request_id"`
	Token             *string  `xml:"token" json:"token,omitempty"`
	Status            string   `xml:"status,omitempty" json:"status,omitempty"`
	StatusNotes       *string  `xml:"status_notes" json:"status_notes,omitempty"`
	ServiceName       *string  `xml:"service_name" json:"service_name,omitempty"`
	ServiceCode       string   `xml:"service_code,omitempty" json:"service_code,omitempty"`
	Description       *string  `xml:"description" json:"description,omitempty"`
	AgencyResponsible *string  `xml:"agency_responsible" json:"agency_responsible,omitempty"`
	ServiceNotice     *string  `xml:"service_notice" json:"service_notice,omitempty"`
	AccountID         *string  `xml:"account_id" json:"account_id,omitempty"`
	RequestedDatetime string   `xml:"requested_datetime,omitempty" json:"requested_datetime,omitempty"`
	UpdatedDatetime   *string  `xml:"updated_datetime" json:"updated_datetime,omitempty"`
	ExpectedDatetime  *string  `xml:"expected_datetime" json:"expected_datetime,omitempty"`
	Address           *string  `xml:"address" json:"address,omitempty"`
	AddressID         *string  `xml:"address_id" json:"address_id,omitempty"`
	Zipcode           *string  `xml:"zipcode" json:"zipcode,omitempty"`
	Lat               *float64 `xml:"lat" json:"lat,omitempty"`
	Long              *float64 `xml:"long" json:"long,omitempty"`
	MediaURL          *string  `xml:"media_url" json:"media_url,omitempty"`
	// Extensions (extensions=true).
	Extended   *extendedDoc   `xml:"extended_attributes" json:"extended_attributes,omitempty"`
	Attributes []attrValueDoc `xml:"-" json:"attributes,omitempty"`
	Notes      []noteDoc      `xml:"-" json:"notes,omitempty"`
	// The same two lists for XML, where an empty wrapper would show.
	AttributesXML *attrListXML `xml:"attributes" json:"-"`
	NotesXML      *noteListXML `xml:"notes" json:"-"`
}

type attrListXML struct {
	Items []attrValueDoc `xml:"attribute"`
}

type noteListXML struct {
	Items []noteDoc `xml:"note"`
}

type extendedDoc struct {
	StatusDescription string   `xml:"status_description" json:"status_description"`
	CloseReason       string   `xml:"close_reason,omitempty" json:"close_reason,omitempty"`
	ServiceObjectType string   `xml:"service_object_type,omitempty" json:"service_object_type,omitempty"`
	ServiceObjectID   string   `xml:"service_object_id,omitempty" json:"service_object_id,omitempty"`
	DuplicateOf       string   `xml:"duplicate_of,omitempty" json:"duplicate_of,omitempty"`
	MediaURLs         []string `xml:"media_urls>media_url,omitempty" json:"media_urls,omitempty"`
	Channel           string   `xml:"channel,omitempty" json:"channel,omitempty"`
}

type attrValueDoc struct {
	Code  string `xml:"code" json:"code"`
	Label string `xml:"label" json:"label"`
	Value string `xml:"value" json:"value"`
	Name  string `xml:"name" json:"name"`
}

type noteDoc struct {
	Datetime    string `xml:"datetime" json:"datetime"`
	Description string `xml:"description" json:"description"`
	Type        string `xml:"type" json:"type"`
}

type requestsDoc struct {
	XMLName  xml.Name     `xml:"service_requests"`
	Requests []requestDoc `xml:"request"`
}

type errorDoc struct {
	XMLName     xml.Name `xml:"error" json:"-"`
	Code        int      `xml:"code" json:"code"`
	Description string   `xml:"description" json:"description"`
}

type errorsDoc struct {
	XMLName xml.Name   `xml:"errors"`
	Errors  []errorDoc `xml:"error"`
}

// w3c formats t as GeoReport wants it: to the second, with the offset of
// the city's time zone.
func w3c(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02T15:04:05Z07:00")
}

func w3cPtr(t *time.Time, loc *time.Location) *string {
	if t == nil {
		return nil
	}
	s := w3c(*t, loc)
	return &s
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func toServiceDoc(s civic.Service) serviceDoc {
	return serviceDoc{ServiceCode: s.Code, ServiceName: s.Name, Description: s.Description, Metadata: s.Metadata(),
		Type: "realtime", Keywords: strings.Join(s.Keywords, ","), Group: s.Group}
}

func toDefinitionDoc(s civic.Service) definitionDoc {
	d := definitionDoc{ServiceCode: s.Code, Attributes: []attributeDoc{}}
	for _, a := range s.SortedAttributes() {
		ad := attributeDoc{Variable: a.Variable, Code: a.Code, Datatype: string(a.Datatype), Required: a.Required,
			DatatypeDescription: strPtr(a.DatatypeDescription), Order: a.Order, Description: a.Description}
		for _, v := range a.Values {
			ad.Values = append(ad.Values, valueDoc(v))
		}
		d.Attributes = append(d.Attributes, ad)
	}
	return d
}

// write encodes v in format f ("json" or "xml") with status code. JSON
// lists are bare arrays: jsonDoc holds the slice for JSON, xmlDoc the XML
// root. The answer is encoded whole first, so it goes out with a
// Content-Length in as few writes as the connection takes.
func write(w http.ResponseWriter, f string, code int, xmlDoc, jsonDoc any) {
	b := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if b.Cap() <= 1<<20 {
			b.Reset()
			bufPool.Put(b)
		}
	}()
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if f == "xml" {
		h.Set("Content-Type", "text/xml; charset=utf-8")
		b.WriteString(xml.Header)
		xml.NewEncoder(b).Encode(xmlDoc)
	} else {
		h.Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(b).Encode(jsonDoc)
	}
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}
