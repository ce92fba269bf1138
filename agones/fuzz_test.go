package agones

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
)

// bodyTransport answers every request with body.
type bodyTransport []byte

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Body: io.NopCloser(bytes.NewReader(b)), Request: r}, nil
}

// FuzzSidecarAnswers feeds arbitrary bytes as the sidecar's answers: the
// watch stream and GET /gameserver must end in one of the package's
// errors (or succeed), never panic.
func FuzzSidecarAnswers(f *testing.F) {
	f.Add([]byte(`{"result":{"object_meta":{"name":"gs","generation":"1"},"status":{"state":"Allocated","players":{"count":"2","capacity":"8","ids":["7","9"]}}}}` + "\n"))
	f.Add([]byte(`{"error":{"grpc_code":14,"http_code":503,"message":"unavailable"}}`))
	f.Add([]byte(`{"result":{"status":{"state":"Ready"}}}{"result":{"status":{"players":{"count":2}}}}`))
	f.Add([]byte(`{"object_meta":{"creation_timestamp":"x"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c := NewClient("http://sidecar.invalid", 0)
		c.http.Transport = bodyTransport(body)
		n := 0
		err := c.Watch(context.Background(), func(GameServer) { n++ })
		if !errors.Is(err, ErrUnreachable) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrStatus) {
			t.Fatalf("watch ended with %v after %d objects", err, n)
		}
		if _, err := c.GameServer(context.Background()); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("GET /gameserver: %v", err)
		}
	})
}
