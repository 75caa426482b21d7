package web

import (
	"mime"
	"net/http"

	"github.com/civic-city/civic/internal/civic"
)

// Form bodies of the dashboard's POSTs: small forms, and the crew's stop
// report with its photo.
const (
	maxFormBytes      = 64 << 10
	maxMultipartBytes = civic.MaxPhotoBytes + 64<<10
)

// checkForm parses the body of a form POST and applies civic.CheckText to
// every value, so no page handler (the login form included) ever sees a
// NUL, text that is not UTF-8 or an overlong value. Handlers that parse the
// form again get the values parsed here. The error names the field.
func checkForm(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost || r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-www-form-urlencoded":
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			return civic.Errorf(civic.Invalid, "The form could not be read.")
		}
	case "multipart/form-data":
		r.Body = http.MaxBytesReader(w, r.Body, maxMultipartBytes)
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			return civic.Errorf(civic.Invalid, "The form could not be read (a photo may be at most %d MB).", civic.MaxPhotoBytes>>20)
		}
	default:
		return nil
	}
	for k, vs := range r.PostForm {
		for _, v := range vs {
			if err := civic.CheckText(k, v, 0); err != nil {
				return civic.FieldError(k, "The field %q %s.", k, civic.MessageOf(err))
			}
		}
	}
	return nil
}
