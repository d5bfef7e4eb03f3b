// Package patchday holds what every part of patchday shares: the kinds of
// domain error that adapters map to and from HTTP statuses, exit codes and
// database errors.
package patchday

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error kinds. Compare with errors.Is; every *Error wraps exactly one.
var (
	ErrInvalid         = errors.New("invalid")
	ErrNotFound        = errors.New("not found")
	ErrConflict        = errors.New("conflict")
	ErrForbidden       = errors.New("forbidden")
	ErrUnauthenticated = errors.New("unauthenticated")
	ErrTooManyRequests = errors.New("too many requests")
)

// Error is a domain error: a kind, a message fit to show the user, and for
// invalid input every problem by field, so a form can show them all at once.
type Error struct {
	Kind    error
	Message string
	Fields  map[string]string
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(e.Message)
	for i, k := range keys {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", k, e.Fields[k])
	}
	return b.String()
}

// Unwrap lets errors.Is match the kind.
func (e *Error) Unwrap() error { return e.Kind }

// Errorf returns an *Error of the given kind with a formatted message.
func Errorf(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Problems collects field-by-field validation problems.
type Problems map[string]string

// Add records a problem with a field; the first problem per field wins.
func (p Problems) Add(field, problem string) {
	if _, ok := p[field]; !ok {
		p[field] = problem
	}
}

// Err returns nil when there are no problems, else an ErrInvalid *Error.
func (p Problems) Err(message string) error {
	if len(p) == 0 {
		return nil
	}
	return &Error{Kind: ErrInvalid, Message: message, Fields: map[string]string(p)}
}

// Message returns the user-facing message of err: the *Error's message if
// err is or wraps one, else a generic text that reveals nothing internal.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Error()
	}
	return "internal error"
}

// Summary returns the message of err without its field problems, for a
// form that shows those beside each field.
func Summary(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return Message(err)
}

// FieldErrors returns the field problems carried by err, if any.
func FieldErrors(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}
