// Package http1 is the server side of HTTP/1.1 without I/O (RFC 9112, RFC
// 9110): Conn, a connection that turns bytes in into requests and response
// calls into bytes out, and the parts it is made of, which parse request
// heads and chunked bodies and write response heads. Parsers work in place
// on the caller's buffer: they allocate nothing and every slice they return
// borrows from that buffer.
package http1

// Error is a request the server must refuse. Status is the response code to
// send before closing the connection, or 0 when the bytes are not HTTP at
// all and the connection is closed without a response.
type Error struct {
	Status int
	Reason string
}

// Error returns the reason, prefixed with the package name.
func (e *Error) Error() string { return "http1: " + e.Reason }

// The errors returned by ParseRequest and ChunkedDecoder. They are
// preallocated: compare with == or errors.Is.
var (
	// ErrNotHTTP: the first line does not end in an HTTP version.
	ErrNotHTTP = &Error{0, "not an HTTP/1.x request"}
	// ErrBareLineEnd: a CR not followed by LF, or an LF not preceded by CR.
	ErrBareLineEnd = &Error{400, "line not terminated by CRLF"}
	// ErrRequestLine: the request line is not method SP target SP version.
	ErrRequestLine = &Error{400, "malformed request line"}
	// ErrMethod: the method is not a token.
	ErrMethod = &Error{400, "invalid method"}
	// ErrTarget: the request-target has a forbidden byte or form.
	ErrTarget = &Error{400, "invalid request-target"}
	// ErrVersion: a major version other than 1.
	ErrVersion = &Error{505, "unsupported HTTP version"}
	// ErrURITooLong: the request line alone exceeds the head limit.
	ErrURITooLong = &Error{414, "request line too long"}
	// ErrHeadTooLarge: the request head exceeds the head limit.
	ErrHeadTooLarge = &Error{431, "request head too large"}
	// ErrTooManyFields: more field lines than Limits.MaxFields.
	ErrTooManyFields = &Error{431, "too many header fields"}
	// ErrFieldName: a field name that is empty or not a token, or a line without a colon.
	ErrFieldName = &Error{400, "invalid field name"}
	// ErrFieldNameSpace: whitespace between a field name and the colon.
	ErrFieldNameSpace = &Error{400, "whitespace before colon"}
	// ErrFieldValue: a field value with a control character.
	ErrFieldValue = &Error{400, "invalid field value"}
	// ErrObsFold: a field line that starts with whitespace (obs-fold).
	ErrObsFold = &Error{400, "obsolete line folding"}
	// ErrMissingHost: an HTTP/1.1 request without Host.
	ErrMissingHost = &Error{400, "missing Host"}
	// ErrHost: more than one Host field, or an invalid Host value.
	ErrHost = &Error{400, "invalid or repeated Host"}
	// ErrContentLength: an invalid or conflicting Content-Length.
	ErrContentLength = &Error{400, "invalid Content-Length"}
	// ErrLengthAndChunked: both Content-Length and Transfer-Encoding.
	ErrLengthAndChunked = &Error{400, "both Content-Length and Transfer-Encoding"}
	// ErrTransferEncoding: chunked is not the final transfer coding, or it
	// is applied twice, or the request is HTTP/1.0.
	ErrTransferEncoding = &Error{400, "invalid Transfer-Encoding"}
	// ErrUnsupportedCoding: a transfer coding other than chunked.
	ErrUnsupportedCoding = &Error{501, "unsupported transfer coding"}
	// ErrExpectation: an Expect value other than 100-continue.
	ErrExpectation = &Error{417, "unsupported expectation"}
	// ErrChunkSize: a malformed or oversized chunk-size line.
	ErrChunkSize = &Error{400, "invalid chunk size"}
	// ErrChunkEnd: chunk data not followed by CRLF.
	ErrChunkEnd = &Error{400, "chunk data not followed by CRLF"}
	// ErrBodyTooLarge: the body exceeds the body limit.
	ErrBodyTooLarge = &Error{413, "request body too large"}
)
