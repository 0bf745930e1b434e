package ifmatchtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// A loopback server that behaves as Twilio does: a Client made by
// Server.Client talks to it over HTTP, and the test reads the state back.
func ExampleNewServer() {
	srv := ifmatchtest.NewServer()
	defer srv.Close()
	ws := srv.AddWorkspace()
	sid := srv.AddTask(ws, map[string]any{"queue": "default"})

	_, err := srv.Client().Workspace(ws).UpdateTask(context.Background(), sid, func(t *ifmatch.Task) error {
		t.Attributes["queue"] = "vip"
		return nil
	})
	attrs, version, _ := srv.TaskAttributes(ws, sid)
	fmt.Println(err, attrs["queue"], version)
	// Output: <nil> vip 1
}

// A write that lands but whose answer is lost: with CommitMarkers the loop
// reads back, finds its own write, and reports it applied, once.
func ExampleFake_Inject() {
	fake := ifmatchtest.NewFake()
	ws := fake.AddWorkspace()
	sid := fake.AddTask(ws, map[string]any{"n": 0})
	fake.Inject(ifmatchtest.Fault{Kind: ifmatchtest.DropAfterCommit, Method: "POST", Count: 1})
	client, _ := fake.MockClient(nil) // in a test: fake.MockClient(t)

	_, err := client.Workspace(ws).UpdateTask(context.Background(), sid, func(t *ifmatch.Task) error {
		n, _ := t.Attributes["n"].(json.Number).Int64() // numbers keep their exact text
		t.Attributes["n"] = n + 1                       // not idempotent: must not run twice
		return nil
	}, ifmatch.CommitMarkers(""))
	commits := fake.Commits()
	attrs, _, _ := fake.TaskAttributes(ws, sid)
	fmt.Println(err, attrs["n"], len(commits), commits[0].Fault)
	// Output: <nil> 1 1 drop-after-commit
}

// In-memory stubs for unit tests: no HTTP, the same contract as a Client,
// and the state to assert on.
func ExampleNewMemoryWorkspace() {
	ws := ifmatchtest.NewMemoryWorkspace()
	sid := ws.AddTask(map[string]any{"owner": "a"})
	ctx := context.Background()

	_, err := ws.UpdateTaskIf(ctx, sid, `"7"`, ifmatch.TaskUpdate{Attributes: map[string]any{"owner": "b"}})
	fmt.Println(errors.Is(err, ifmatch.ErrPreconditionFailed)) // a stale ETag: nothing written
	task, _ := ws.Task(sid)
	fmt.Println(task.Attributes["owner"], task.ETag, ws.Writes())
	// Output:
	// true
	// a "0" 0
}

// Another service writes between your read and your write (a routing worker
// and a CRM webhook on one Task): in a unit test, play it from inside the
// mutator's first run. The write is refused (412), the loop reads again and
// re-applies the mutator, and neither change is lost.
func ExampleMemoryWorkspace_SetTaskAttributes() {
	ws := ifmatchtest.NewMemoryWorkspace()
	sid := ws.AddTask(map[string]any{"queue": "support"})
	runs := 0
	var res ifmatch.OperationResult
	_, err := ws.UpdateTask(context.Background(), sid, func(t *ifmatch.Task) error {
		runs++
		if runs == 1 { // the other service writes after our read
			ws.SetTaskAttributes(sid, map[string]any{"queue": "vip"})
		}
		t.Attributes["crm_case"] = "C-42"
		return nil
	}, ifmatch.ReportResult(&res))
	task, _ := ws.Task(sid)
	fmt.Println(err, res, runs)
	fmt.Println(task.Attributes["queue"], task.Attributes["crm_case"], task.ETag)
	// Output:
	// <nil> updated 2
	// vip C-42 "2"
}
