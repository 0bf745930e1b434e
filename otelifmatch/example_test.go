package otelifmatch_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
	"github.com/ifmatch-go/ifmatch/otelifmatch"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Traces of an update call, printed by the stdout exporter. The exporter
// writes JSON with times and IDs; this example keeps the span names, their
// parents and the ifmatch attributes, so its output is stable. Give the
// exporter stdouttrace.WithWriter(os.Stdout) (its default) to see it all.
func Example() {
	srv := ifmatchtest.NewServer() // a fake Twilio on loopback
	defer srv.Close()
	ws := srv.AddWorkspace()
	task := srv.AddTask(ws, map[string]any{"status": "new"})

	var out bytes.Buffer
	exp, err := stdouttrace.New(stdouttrace.WithWriter(&out))
	if err != nil {
		panic(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	// The three lines that turn it on (here with an explicit provider; the
	// global one by default).
	obs := otelifmatch.New(otelifmatch.WithTracerProvider(tp))
	client := srv.Client(ifmatch.WithObserver(obs),
		ifmatch.WithHTTPClient(obs.HTTPClient(&http.Client{Transport: srv.CallTransport(nil)})))

	ctx, span := tp.Tracer("example").Start(context.Background(), "webhook")
	_, err = client.Workspace(ws).UpdateTask(ctx, task, func(t *ifmatch.Task) error {
		t.Attributes["status"] = "escalated"
		return nil
	})
	span.End()
	if err != nil {
		panic(err)
	}

	type stub struct {
		Name        string
		SpanContext struct{ SpanID string }
		Parent      struct{ SpanID string }
		Attributes  []struct {
			Key   string
			Value struct{ Value any }
		}
		Events []struct{ Name string }
	}
	names := map[string]string{}
	var spans []stub
	for sc := bufio.NewScanner(&out); sc.Scan(); {
		var s stub
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			panic(err)
		}
		names[s.SpanContext.SpanID] = s.Name
		spans = append(spans, s)
	}
	for _, s := range spans {
		fmt.Printf("%s (parent: %s)\n", s.Name, names[s.Parent.SpanID])
		for _, a := range s.Attributes {
			if a.Key == "ifmatch.outcome" || a.Key == "ifmatch.attempts" || a.Key == "ifmatch.resource.kind" {
				fmt.Printf("  %s = %v\n", a.Key, a.Value.Value)
			}
		}
		for _, e := range s.Events {
			fmt.Printf("  event %s\n", e.Name)
		}
	}
	// Output:
	// HTTP GET (parent: ifmatch.UpdateTask)
	// HTTP POST (parent: ifmatch.UpdateTask)
	// ifmatch.UpdateTask (parent: webhook)
	//   ifmatch.resource.kind = Task
	//   ifmatch.outcome = updated
	//   ifmatch.attempts = 1
	//   event ifmatch.queued
	//   event ifmatch.attempt
	// webhook (parent: )
}
