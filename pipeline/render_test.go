package pipeline

import (
	"encoding/json"
	"os"
	"testing"
)

type dtFixture struct {
	Requests []struct {
		Name string `json:"name"`
		Body string `json:"body"`
	} `json:"requests"`
}

func loadDTRequests(t testing.TB) dtFixture {
	t.Helper()
	raw, err := os.ReadFile("testdata/dt-signed-requests.json")
	if err != nil {
		t.Fatal(err)
	}
	var f dtFixture
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// The rendered body of DT's own requests is byte for byte the body DT sent.
func TestRenderMatchesDTBytes(t *testing.T) {
	for _, req := range loadDTRequests(t).Requests {
		t.Run(req.Name, func(t *testing.T) {
			var env Envelope
			if err := json.Unmarshal([]byte(req.Body), &env); err != nil {
				t.Fatal(err)
			}
			env.Labels["room"] = "not requested"
			got := NewRenderer([]string{"name"}).Append(nil, &env)
			if string(got) != req.Body {
				t.Fatalf("rendered\n%s\nwant\n%s", got, req.Body)
			}
		})
	}
}

// Labels are projected to the connector's keys (sorted, only those the
// device has), and strings are escaped as encoding/json escapes them.
func TestRenderLabelsAndEscaping(t *testing.T) {
	env := Envelope{
		Event: Event{EventID: "id", TargetName: "projects/p/devices/d", EventType: "touch",
			Data: json.RawMessage(`{"touch":{}}`), Timestamp: "2026-01-01T00:00:00Z"},
		Labels:   map[string]string{"name": "Fridge <2> & \"cold\"\n\u2028\x01é", "room": "R1", "secret": "x"},
		Metadata: Metadata{DeviceID: "d", ProjectID: "p"},
	}
	cases := []struct {
		keys []string
		want string
	}{
		{nil, `{}`},
		{[]string{"room", "name", "missing", "room"}, ""},
	}
	wantName, _ := json.Marshal(env.Labels["name"])
	cases[1].want = `{"name":` + string(wantName) + `,"room":"R1"}`
	for _, c := range cases {
		body := NewRenderer(c.keys).Append(nil, &env)
		var back struct {
			Labels json.RawMessage `json:"labels"`
		}
		if err := json.Unmarshal(body, &back); err != nil {
			t.Fatalf("keys %v: body is not JSON: %v\n%s", c.keys, err, body)
		}
		if string(back.Labels) != c.want {
			t.Errorf("keys %v: labels %s, want %s", c.keys, back.Labels, c.want)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	f := loadDTRequests(b)
	var env Envelope
	if err := json.Unmarshal([]byte(f.Requests[1].Body), &env); err != nil {
		b.Fatal(err)
	}
	r := NewRenderer([]string{"name", "room"})
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = r.Append(buf[:0], &env)
	}
}
