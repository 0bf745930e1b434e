// Command quickstart walks through ifmatch: create a Task, make one
// conditional update, run the update loop, apply an event exactly once with
// an idempotency key, merge a patch into the attributes, update a Worker's
// typed attributes and a Sync Document, and read the errors.
//
// It runs on the embedded fake Twilio by default. To run it against real
// Twilio, set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and
// TWILIO_API_SECRET) and pass -live -workspace WS...: it creates one Task
// and one Worker there and deletes them at the end; with -sync IS... it also
// creates a Sync Document there and deletes it.
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -live -workspace WSxxxxxxxx
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

func main() {
	live := flag.Bool("live", false, "use real Twilio (credentials from TWILIO_* environment variables)")
	wsSID := flag.String("workspace", "", "TaskRouter workspace SID (with -live)")
	svcSID := flag.String("sync", "", "Sync service SID (with -live; without it the Sync step is skipped)")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var client *ifmatch.Client
	if *live {
		var err error
		if client, err = ifmatch.NewClientFromEnv(); err != nil {
			log.Fatal(err)
		}
		if *wsSID == "" {
			log.Fatal("quickstart: -live needs -workspace WS...")
		}
	} else {
		srv := ifmatchtest.NewServer()
		defer srv.Close()
		client = srv.Client()
		*wsSID = srv.AddWorkspace()
		*svcSID = srv.AddSyncService()
		fmt.Println("running on the embedded fake Twilio at", srv.URL)
	}
	ws := client.Workspace(*wsSID)
	taskSID := taskSteps(ctx, ws)
	workerStep(ctx, ws, "quickstart-"+taskSID[2:10])
	if *svcSID != "" {
		syncStep(ctx, client.SyncService(*svcSID))
	}
	errorStep(ctx, ws)
}

// taskSteps runs steps 1-7 on a Task it creates (and deletes at the end),
// and returns its SID.
func taskSteps(ctx context.Context, ws ifmatch.Workspace) string {
	// 1. Create a Task.
	task, err := ws.CreateTask(ctx, ifmatch.TaskCreate{Attributes: map[string]any{"type": "support", "city": "SFO"}})
	if err != nil {
		log.Fatal(err)
	}
	defer ws.DeleteTask(context.WithoutCancel(ctx), task.SID)
	fmt.Printf("created %s at version %s\n", task.SID, task.ETag)

	// 2. One conditional write with the ETag we hold.
	prio := 5
	task, err = ws.UpdateTaskIf(ctx, task.SID, task.ETag, ifmatch.TaskUpdate{Priority: &prio})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("priority set, now at version %s\n", task.ETag)

	// 3. The same write with the old ETag is refused: someone changed it.
	_, err = ws.UpdateTaskIf(ctx, task.SID, `"0"`, ifmatch.TaskUpdate{Priority: &prio})
	var apiErr *ifmatch.APIError
	if errors.Is(err, ifmatch.ErrPreconditionFailed) && errors.As(err, &apiErr) {
		fmt.Printf("stale write refused: HTTP %d, Twilio code %d\n", apiErr.Status, apiErr.Code)
	}

	loopSteps(ctx, ws, task.SID)
	return task.SID
}

// loopSteps runs steps 4-7, ifmatch's read-change-write loop, on the Task
// sid.
func loopSteps(ctx context.Context, ws ifmatch.Workspace, sid string) {
	// 4. The loop: read, change, write with If-Match, retry on conflict.
	var result ifmatch.OperationResult
	task, err := ws.UpdateTask(ctx, sid, func(t *ifmatch.Task) error {
		t.Attributes["city"] = "bar-SFO"
		return nil
	}, ifmatch.ReportResult(&result))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("loop: task %s, city=%v, version %s\n", result, task.Attributes["city"], task.ETag)

	// 5. Running it again changes nothing, so nothing is written.
	_, err = ws.UpdateTask(ctx, sid, func(t *ifmatch.Task) error {
		t.Attributes["city"] = "bar-SFO"
		return nil
	}, ifmatch.ReportResult(&result))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("again: task %s\n", result)

	// 6. Exactly once per event: a redelivered event (same key) is not
	// applied again, even though the mutation is an increment.
	for delivery := 1; delivery <= 2; delivery++ {
		task, err = ws.UpdateTask(ctx, sid, func(t *ifmatch.Task) error {
			num, _ := t.Attributes["escalations"].(json.Number) // absent at first
			n, _ := num.Int64()
			t.Attributes["escalations"] = n + 1
			return nil
		}, ifmatch.IdempotencyKey("EV-escalate-1"), ifmatch.ReportResult(&result))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("event delivery %d: %s, escalations=%v\n", delivery, result, task.Attributes["escalations"])
	}

	// 7. A merge patch (RFC 7386): nil deletes, objects merge.
	task, err = ifmatch.MergeTaskAttributes(ctx, ws, sid, map[string]any{"city": nil, "customer": map[string]any{"tier": "gold"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("merged: city=%v customer=%v\n", task.Attributes["city"], task.Attributes["customer"])
}

// workerStep is step 8, on a Worker it creates (and deletes at the end).
func workerStep(ctx context.Context, ws ifmatch.Workspace, name string) {
	// 8. A Worker's attributes as a struct, and its name, in one write.
	type skills struct {
		Languages []string `json:"languages"`
	}
	worker, err := ws.CreateWorker(ctx, ifmatch.WorkerCreate{FriendlyName: name})
	if err != nil {
		log.Fatal(err)
	}
	defer ws.DeleteWorker(context.WithoutCancel(ctx), worker.SID)
	worker, sk, err := ifmatch.UpdateWorkerWithAttributes(ctx, ws, worker.SID, func(w *ifmatch.Worker, s *skills) error {
		w.FriendlyName += "-fr"
		s.Languages = append(s.Languages, "fr")
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("worker %s speaks %v\n", worker.FriendlyName, sk.Languages)
}

// syncStep is step 9, on a Document it creates (and deletes at the end).
func syncStep(ctx context.Context, svc ifmatch.SyncService) {
	// 9. Sync: the same loop on a Document's data.
	doc, err := svc.CreateDocument(ctx, "", ifmatch.SyncWrite{Data: map[string]any{"visits": 0}})
	if err != nil {
		log.Fatal(err)
	}
	defer svc.DeleteDocument(context.WithoutCancel(ctx), doc.SID)
	doc, err = svc.UpdateDocument(ctx, doc.SID, func(d *ifmatch.Document) error {
		d.Data["visits"] = 1
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("document %s: visits=%v, revision %s\n", doc.SID, doc.Data["visits"], doc.Revision)
}

// errorStep is step 10.
func errorStep(ctx context.Context, ws ifmatch.Workspace) {
	// 10. Errors are typed, and map to a service's HTTP answers.
	_, err := ws.FetchTask(ctx, "WT00000000000000000000000000000000")
	fmt.Println("missing task is ErrNotFound:", errors.Is(err, ifmatch.ErrNotFound), "answer with", ifmatch.HTTPStatus(err))
	_, err = ws.FetchTask(ctx, "../../etc/passwd")
	fmt.Println("hostile SID is refused before any request:", errors.Is(err, ifmatch.ErrInvalidArgument))
}
