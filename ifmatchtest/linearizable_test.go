package ifmatchtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// The linearizability check (issue #11): goroutines on one shared client
// (so their calls coalesce into rounds) and on a few separate clients run
// random mutators on one Task under random faults and short deadlines. Each
// call is an operation with its input and what it was told (the object it
// got back, Updated or Unchanged, its error class); porcupine checks that
// some serial order of the calls explains every answer, with the Task as a
// sequential object. A call that ended in ErrOutcomeUnknown may or may not
// have taken effect, at any time after it began. A final read (after every
// late commit has settled) pins the end state.
//
//	go test ./ifmatchtest/ -run TestLinearizable -soak 1m -v

// lState is the part of the Task's attributes the mutators touch.
type lState struct {
	N      int64
	K      [3]string
	Closed bool
}

type lOpKind int

const (
	opIncr    lOpKind = iota // n += 1 (not idempotent)
	opSet                    // k[i] = v
	opSetOpen                // refuse when closed, else k[i] = v
	opClose                  // closed = true
	opOpen                   // closed = false
	opNoop                   // change nothing
	opRead                   // the final read
)

type lInput struct {
	kind lOpKind
	i    int
	v    string
}

type lClass int

const (
	clOK         lClass = iota // nil error
	clRefused                  // ErrMutatorAborted: its own refusal
	clNotApplied               // any other error but ErrOutcomeUnknown
	clUnknown                  // ErrOutcomeUnknown
)

type lOutput struct {
	class  lClass
	result ifmatch.OperationResult
	view   lState // the object returned (ok) or read
	err    string // for the report
}

// apply is the sequential specification of one mutator.
func (in lInput) apply(s lState) (lState, bool) {
	switch in.kind {
	case opIncr:
		s.N++
	case opSet:
		s.K[in.i] = in.v
	case opSetOpen:
		if s.Closed {
			return s, false
		}
		s.K[in.i] = in.v
	case opClose:
		s.Closed = true
	case opOpen:
		s.Closed = false
	}
	return s, true
}

func (in lInput) mutator() ifmatch.TaskMutator {
	return func(t *ifmatch.Task) error {
		s := decodeState(t.Attributes)
		ns, ok := in.apply(s)
		if !ok {
			return errors.New("closed")
		}
		if ns != s {
			encodeState(ns, t.Attributes)
		}
		return nil
	}
}

var linearModel = porcupine.NondeterministicModel{
	Init: func() []any { return []any{lState{}} },
	Step: func(state, input, output any) []any {
		s, in, out := state.(lState), input.(lInput), output.(lOutput)
		if in.kind == opRead {
			if out.view == s {
				return []any{s}
			}
			return nil
		}
		ns, ok := in.apply(s)
		switch out.class {
		case clOK:
			res := ifmatch.Unchanged
			if ns != s {
				res = ifmatch.Updated
			}
			if ok && out.result == res && out.view == ns {
				return []any{ns}
			}
		case clRefused:
			if !ok {
				return []any{s}
			}
		case clNotApplied:
			return []any{s}
		case clUnknown:
			return []any{s, ns}
		}
		return nil
	},
	DescribeOperation: func(input, output any) string {
		return fmt.Sprintf("%+v -> %+v", input, output)
	},
}

func decodeState(a map[string]any) lState {
	var s lState
	if n, ok := a["n"].(json.Number); ok {
		s.N, _ = n.Int64()
	}
	for i := range s.K {
		s.K[i], _ = a[fmt.Sprint("k", i)].(string)
	}
	s.Closed, _ = a["closed"].(bool)
	return s
}

func encodeState(s lState, a map[string]any) {
	a["n"] = s.N
	for i, v := range s.K {
		if v != "" {
			a[fmt.Sprint("k", i)] = v
		}
	}
	a["closed"] = s.Closed
}

func randomInput(rng *rand.Rand, id int) lInput {
	in := lInput{kind: lOpKind(rng.IntN(int(opRead))), i: rng.IntN(3), v: fmt.Sprint("v", id%4)}
	return in
}

func classify(err error) lClass {
	switch {
	case err == nil:
		return clOK
	case errors.Is(err, ifmatch.ErrOutcomeUnknown):
		return clUnknown
	case errors.Is(err, ifmatch.ErrMutatorAborted):
		return clRefused
	}
	return clNotApplied
}

func TestLinearizable(t *testing.T) {
	t.Parallel()
	for _, markers := range []bool{false, true} {
		name := "default"
		if markers {
			name = "markers"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			deadline := time.Now().Add(*soakFor)
			var classes [4]int
			rounds := uint64(0)
			for ; rounds < 3 || time.Now().Before(deadline); rounds++ {
				for _, op := range linearRound(t, rounds, markers) {
					if in := op.Input.(lInput); in.kind != opRead {
						classes[op.Output.(lOutput).class]++
					}
				}
				if t.Failed() {
					return
				}
			}
			t.Logf("%d histories: %d ok, %d refused, %d not applied, %d unknown", rounds,
				classes[clOK], classes[clRefused], classes[clNotApplied], classes[clUnknown])
		})
	}
}

// linearRound runs one history on a fresh Task and checks it.
func linearRound(t *testing.T, seed uint64, markers bool) []porcupine.Operation {
	srv := ifmatchtest.NewServer(ifmatchtest.WithSeed(seed), ifmatchtest.WithLatency(time.Millisecond))
	defer srv.Close()
	for _, k := range []ifmatchtest.FaultKind{ifmatchtest.DropAfterCommit, ifmatchtest.CommitThen503,
		ifmatchtest.LateCommit, ifmatchtest.Fail503} {
		srv.Inject(ifmatchtest.Fault{Kind: k, Method: "POST", Rate: 0.06, Latency: 3 * time.Millisecond})
	}
	srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.Fail503, Method: "GET", Rate: 0.05})
	ws := srv.AddWorkspace()
	sid := srv.AddTask(ws, map[string]any{})
	shared := srv.Client()
	// Four goroutines of one service, and two other processes: one of them
	// under Fair (whose waits and stale-cache rule differ).
	clients := []*ifmatch.Client{shared, shared, shared, shared, srv.Client(), srv.Client(ifmatch.WithUpdateDefaults(ifmatch.Fair()))}
	var opts []ifmatch.UpdateOption
	if markers {
		opts = append(opts, ifmatch.CommitMarkers(""))
	}

	var clock atomic.Int64
	var mu sync.Mutex
	var history []porcupine.Operation
	var wg sync.WaitGroup
	for g, c := range clients {
		wg.Add(1)
		go func(g int, c *ifmatch.Client) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(g)))
			for k := 0; k < 4; k++ {
				in := randomInput(rng, g*4+k)
				ctx, cancel := context.WithTimeout(ifmatchtest.WithCall(context.Background(), fmt.Sprintf("%d-%d", g, k)),
					time.Duration(5+rng.IntN(60))*time.Millisecond)
				var res ifmatch.OperationResult
				call := clock.Add(1)
				task, err := c.Workspace(ws).UpdateTask(ctx, sid, in.mutator(), append(opts, ifmatch.ReportResult(&res))...)
				ret := clock.Add(1)
				cancel()
				out := lOutput{class: classify(err), result: res}
				if err != nil {
					out.err = err.Error()
				}
				if out.class == clOK {
					out.view = decodeState(task.Attributes)
				}
				if out.class == clUnknown {
					ret = math.MaxInt64 // it may take effect at any time
				}
				mu.Lock()
				history = append(history, porcupine.Operation{ClientId: g, Input: in, Call: call, Output: out, Return: ret,
					Metadata: fmt.Sprintf("%d-%d", g, k)})
				mu.Unlock()
			}
		}(g, c)
	}
	wg.Wait()
	srv.Settle()
	attrs, _, _ := srv.TaskAttributes(ws, sid)
	history = append(history, porcupine.Operation{ClientId: len(clients), Input: lInput{kind: opRead},
		Call: math.MaxInt64 - 1, Output: lOutput{view: decodeState(attrs)}, Return: math.MaxInt64})
	res, _ := porcupine.CheckOperationsVerbose(linearModel.ToModel(), history, 30*time.Second)
	if res != porcupine.Ok {
		t.Errorf("seed %d: history not linearizable (%s):", seed, res)
		for _, op := range history {
			t.Logf("  %v [%d, %d] %+v -> %+v", op.Metadata, op.Call, op.Return, op.Input, op.Output)
		}
		for _, cm := range srv.Commits() {
			t.Logf("  commit by %s: %s -> %s, fault %q, late %t", cm.Call, cm.BeforeETag, cm.AfterETag, cm.Fault, cm.Late)
		}
	}
	return history
}
