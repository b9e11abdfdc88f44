package signature

import (
	"net/http"
	"testing"
	"time"
)

// BenchmarkSign measures signing a ~400-byte DT body, the deliver hot path.
func BenchmarkSign(b *testing.B) {
	f := loadFixtures(b)[1]
	s := NewSigner([]byte(f.Secret))
	body := []byte(f.Body)
	now := time.Now()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Sign(body, now)
	}
}

// BenchmarkSignParallel measures one Signer shared by many goroutines.
func BenchmarkSignParallel(b *testing.B) {
	f := loadFixtures(b)[1]
	s := NewSigner([]byte(f.Secret))
	body := []byte(f.Body)
	now := time.Now()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = s.Sign(body, now)
		}
	})
}

// BenchmarkVerify measures verifying a real DT token against its body.
func BenchmarkVerify(b *testing.B) {
	f := loadFixtures(b)[1]
	body, secret, now := []byte(f.Body), []byte(f.Secret), f.during()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(f.Token, body, secret, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStandardSign measures Standard Webhooks signing of a ~400-byte
// DT body with two secrets (a rotation), the deliver hot path.
func BenchmarkStandardSign(b *testing.B) {
	f := loadFixtures(b)[1]
	s := mustStandardSigner(b, newSecret, oldSecret)
	body := []byte(f.Body)
	now := time.Now()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		_, _ = s.Sign("d4k1m3s2c3fb2mq1nr7g", body, now)
	}
}

// BenchmarkStandardSignRequest adds setting the three headers.
func BenchmarkStandardSignRequest(b *testing.B) {
	f := loadFixtures(b)[1]
	s := mustStandardSigner(b, newSecret)
	body := []byte(f.Body)
	now := time.Now()
	h := http.Header{}
	b.ReportAllocs()
	for b.Loop() {
		s.SignRequest(h, "d4k1m3s2c3fb2mq1nr7g", body, now)
	}
}
