package stages

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/hookpipe/hookpipe/pipeline/kafka"
)

// New binds the HTTP listener before it contacts Kafka: with the address
// busy and no broker answering, the error is the bind error.
func TestNewFailsFirstOnBusyListen(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, err = New(context.Background(), Options{
		Kafka:  kafka.Config{Brokers: []string{"127.0.0.1:1"}},
		Listen: busy.Addr().String(),
	})
	if err == nil || !strings.Contains(err.Error(), "listen on "+busy.Addr().String()) || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("err %v, want the bind error", err)
	}
}
