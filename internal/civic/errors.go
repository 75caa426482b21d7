package civic

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller can do about it. Only the HTTP
// layer maps kinds to status codes (internal/httperr).
type Kind string

// The error kinds. They are stable: they appear in the JSON API as
// error.code.
const (
	Invalid      Kind = "invalid"      // the input is wrong; Field says which part
	NotFound     Kind = "not_found"    // the thing asked for does not exist
	Conflict     Kind = "conflict"     // it exists already, or changed under the caller
	Unauthorized Kind = "unauthorized" // who is calling is unknown
	Forbidden    Kind = "forbidden"    // the caller may not do this
	Unavailable  Kind = "unavailable"  // try again later (overload, shutting down)
	TooLarge     Kind = "too_large"    // the request body or batch exceeds a limit
	Internal     Kind = "internal"     // a bug or an infrastructure failure; details are logged, never shown
)

// Error is civic's error. Message is safe to show to the caller; Err is the
// cause, kept for the log.
type Error struct {
	Kind    Kind
	Field   string // the offending input field, e.g. "readings[3].fill"; empty if none
	Message string
	Err     error
}

func (e *Error) Error() string {
	s := string(e.Kind)
	if e.Field != "" {
		s += " " + e.Field
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind k with a message for the caller.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an Invalid error naming the field that is wrong.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error of kind k around err. The message shown to callers is
// msg; err is only logged.
func Wrap(k Kind, err error, msg string) *Error {
	return &Error{Kind: k, Message: msg, Err: err}
}

// KindOf returns the kind of the first *Error in err's chain, Internal for any
// other non-nil error, and "" for nil.
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// IsKind reports whether err is of kind k.
func IsKind(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// FieldOf returns the field named by the first *Error in err's chain.
func FieldOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// MessageOf returns the caller-safe message of err: the message of the first
// *Error in its chain, or "internal error" for anything else.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Kind != Internal {
		if e.Message != "" {
			return e.Message
		}
		return string(e.Kind)
	}
	return "internal error"
}

// PrefixField returns err with its field prefixed, e.g. "readings[3]" + "."
// + "fill". Errors without a field get the prefix as their field.
func PrefixField(prefix string, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	c := *e
	if c.Field == "" {
		c.Field = prefix
	} else if c.Field[0] == '[' {
		c.Field = prefix + c.Field
	} else {
		c.Field = prefix + "." + c.Field
	}
	return &c
}
