// Command quickstart walks through ifmatch: create a Task, fetch it, make one
// conditional update, run the update loop, and read the errors.
//
// It runs on the embedded fake Twilio by default. To run it against real
// Twilio, set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and
// TWILIO_API_SECRET) and pass -live -workspace WS...: it creates one Task
// there and deletes it at the end.
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -live -workspace WSxxxxxxxx
package main

import (
	"context"
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
		fmt.Println("running on the embedded fake Twilio at", srv.URL)
	}
	ws := client.Workspace(*wsSID)

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

	// 4. The loop: read, change, write with If-Match, retry on conflict.
	var result ifmatch.OperationResult
	task, err = ws.UpdateTask(ctx, task.SID, func(t *ifmatch.Task) error {
		t.Attributes["city"] = "bar-SFO"
		return nil
	}, ifmatch.ReportResult(&result))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("loop: task %s, city=%v, version %s\n", result, task.Attributes["city"], task.ETag)

	// 5. Running it again changes nothing, so nothing is written.
	_, err = ws.UpdateTask(ctx, task.SID, func(t *ifmatch.Task) error {
		t.Attributes["city"] = "bar-SFO"
		return nil
	}, ifmatch.ReportResult(&result))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("again: task %s\n", result)

	// 6. Errors are typed.
	_, err = ws.FetchTask(ctx, "WT00000000000000000000000000000000")
	fmt.Println("missing task is ErrNotFound:", errors.Is(err, ifmatch.ErrNotFound))
	_, err = ws.FetchTask(ctx, "../../etc/passwd")
	fmt.Println("hostile SID is refused before any request:", errors.Is(err, ifmatch.ErrInvalidArgument))
}
