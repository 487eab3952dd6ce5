package fakeclerk

import (
	"fmt"
	"net/http"
)

// Error is one of Clerk's error answers: an HTTP status and the single
// entry of the body's errors array.
type Error struct {
	Status      int
	Code        string
	Message     string
	LongMessage string
	Param       string // meta.param_name, when the error is about one parameter
}

func (e *Error) Error() string { return e.LongMessage }

// Clerk's answers to requests it will not serve, with its codes and
// wording.
var (
	errHeaderFormat = &Error{Status: http.StatusUnauthorized, Code: "authorization_header_format_invalid",
		Message:     "Invalid Authorization header format",
		LongMessage: "Invalid Authorization header format. Must be 'Bearer <YOUR_API_KEY>'"}
	errKeyInvalid = &Error{Status: http.StatusUnauthorized, Code: "clerk_key_invalid",
		Message:     "The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is correct.",
		LongMessage: "The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is correct."}
	errNotFound = &Error{Status: http.StatusNotFound, Code: "resource_not_found",
		Message: "not found", LongMessage: "Resource not found"}
	errTooMany = &Error{Status: http.StatusTooManyRequests, Code: "too_many_requests",
		Message: "Too many requests", LongMessage: "Too many requests, retry later"}
	errInternal = &Error{Status: http.StatusInternalServerError, Code: "internal_clerk_error",
		Message:     "Oops, an unexpected error occurred",
		LongMessage: "There was an internal error on our servers. We've been notified and are working on fixing it."}
	errBodyInvalid = &Error{Status: http.StatusBadRequest, Code: "request_body_invalid",
		Message: "Request body invalid", LongMessage: "Request body invalid"}
)

// invalid is a 422 about one parameter's value.
func invalid(param, format string, args ...any) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "form_param_value_invalid",
		Message: "is invalid", LongMessage: fmt.Sprintf(format, args...), Param: param}
}

// unknownParam is a 422 for a body field the endpoint does not take.
func unknownParam(param string) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "form_param_unknown",
		Message: "is unknown", LongMessage: param + " is not a valid parameter for this request.", Param: param}
}

// unsupported is a 422 for a parameter that Clerk takes and this fake does
// not implement: refusing it is better than answering as if it had been
// applied.
func unsupported(param string) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "form_param_unknown",
		Message: "is not supported by mockclerk", LongMessage: param + " is a Clerk parameter that mockclerk serve does not implement.", Param: param}
}

// taken is a 422 for an identifier another user already has.
func taken(param, what string) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "form_identifier_exists",
		Message: "That " + what + " is taken. Please try another.", LongMessage: "That " + what + " is taken. Please try another.", Param: param}
}
