package faultproxy

import (
	"bytes"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// listedKey matches the elements of a ListObjectVersions answer that S3
// URL-encodes when asked with EncodingType url.
var listedKey = regexp.MustCompile(`<(Key|NextKeyMarker|KeyMarker|Prefix|Delimiter)>([^<]*)</(Key|NextKeyMarker|KeyMarker|Prefix|Delimiter)>`)

// encodeKeys rewrites a ListObjectVersions answer's keys URL-encoded, as
// S3 answers with EncodingType url ("/" kept, as S3 keeps it).
func encodeKeys(resp *http.Response) error {
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	body = listedKey.ReplaceAllFunc(body, func(m []byte) []byte {
		sub := listedKey.FindSubmatch(m)
		raw := html.UnescapeString(string(sub[2]))
		enc := strings.ReplaceAll(url.QueryEscape(raw), "%2F", "/")
		return []byte("<" + string(sub[1]) + ">" + enc + "</" + string(sub[3]) + ">")
	})
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}
