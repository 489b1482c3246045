package faultproxy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// answer is an error answer in a service's own shape.
type answer struct {
	status int
	code   string // the error code the SDK reports
	body   string
	header map[string]string
}

// throttled returns AWS's throttling answer for a call.
func throttled(c Call, p protocol) answer {
	switch {
	case c.Service == "lambda":
		return answer{
			status: http.StatusTooManyRequests, code: "TooManyRequestsException",
			body: `{"Type":"User","message":"Rate exceeded"}`,
		}
	case c.Service == "apigateway":
		return answer{
			status: http.StatusTooManyRequests, code: "TooManyRequestsException",
			body: `{"message":"Too Many Requests"}`,
		}
	case p == awsQuery:
		return queryError(http.StatusBadRequest, "Sender", "Throttling", "Rate exceeded")
	case p == awsJSON:
		return jsonError(http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
	case p == restXML:
		return xmlError(http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
	}
	return restError(http.StatusTooManyRequests, "TooManyRequestsException", "Rate exceeded")
}

// serverError returns a 500 or 503 answer for a call.
func serverError(c Call, p protocol, status int) answer {
	code, msg := "InternalFailure", "We encountered an internal error. Please try again."
	if status == http.StatusServiceUnavailable {
		code, msg = "ServiceUnavailable", "Service is unavailable. Please try again."
	}
	switch {
	case c.Service == "lambda":
		if status == http.StatusInternalServerError {
			code = "ServiceException"
		}
		b, _ := json.Marshal(map[string]string{"Type": "Service", "message": msg})
		return answer{status: status, code: code, body: string(b)}
	case p == awsQuery:
		return queryError(status, "Receiver", code, msg)
	case p == awsJSON:
		return jsonError(status, code, msg)
	case p == restXML:
		if status == http.StatusInternalServerError {
			code = "InternalError"
		}
		return xmlError(status, code, msg)
	}
	return restError(status, code, msg)
}

func restError(status int, code, msg string) answer {
	b, _ := json.Marshal(map[string]string{"message": msg})
	return answer{status: status, code: code, body: string(b)}
}

func jsonError(status int, code, msg string) answer {
	b, _ := json.Marshal(map[string]string{"__type": code, "message": msg})
	return answer{status: status, code: code, body: string(b),
		header: map[string]string{"Content-Type": "application/x-amz-json-1.0"}}
}

func queryError(status int, typ, code, msg string) answer {
	return answer{status: status, code: code, body: fmt.Sprintf(
		`<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">`+
			`<Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error>`+
			`<RequestId>`+requestIDMark+`</RequestId></ErrorResponse>`, typ, code, msg),
		header: map[string]string{"Content-Type": "text/xml"}}
}

func xmlError(status int, code, msg string) answer {
	return answer{status: status, code: code, body: fmt.Sprintf(
		`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
			`<Error><Code>%s</Code><Message>%s</Message><RequestId>`+requestIDMark+`</RequestId></Error>`, code, msg),
		header: map[string]string{"Content-Type": "application/xml"}}
}

// requestIDMark stands for the request id in XML bodies.
const requestIDMark = "\x00requestid\x00"

// write sends the answer with request id id.
func (a answer) write(w http.ResponseWriter, id string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	for k, v := range a.header {
		h.Set(k, v)
	}
	if !strings.HasSuffix(h.Get("Content-Type"), "xml") {
		h.Set("X-Amzn-ErrorType", a.code)
	}
	body := strings.ReplaceAll(a.body, requestIDMark, id)
	h.Set("X-Amzn-RequestId", id)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(a.status)
	w.Write([]byte(body))
}
