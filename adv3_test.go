package ifmatch_test

// Adversary review 3 (branch adv3): each test checks every call's claim
// against what the server committed, for a fault earlier reviews did not
// script.

import (
	"context"
	"errors"
	"testing"

	"github.com/ifmatch-go/ifmatch"
)

// A coalesced round's write W loses its answer before landing; the read-back
// shows the base version, so the round resends W; the first copy lands late,
// and the resend meets 412. Without markers the round ends in
// ErrOutcomeUnknown, rightly: W landed. But the 412 was reported to the
// round's members as a refused write, and a refusal used to clear every
// member's "a write carrying my change may have landed": a member whose
// context ended after that report and before the round's answer was told
// context.Canceled alone, "not applied", while its change had landed. Here
// C's OnAttempt, which runs in the round right after that report, ends B's
// context and waits for B's answer (a deadline ending there does the same).
func TestAdv3CoalescedResend412KeepsMembersExposed(t *testing.T) {
	a := newAdvTask()
	c, ws := advSetup(t, a)
	bCtx, bCancel := context.WithCancel(ctxT(t))
	defer bCancel()
	bOut, cOut := make(chan error, 1), make(chan error, 1)
	advRound(t, c, ws, a, 2, func(n int) advAction {
		switch n {
		case 2: // the round's write: lost on the way, not landed (yet)
			return advAction{noCommit: true, lose: true}
		case 3: // its resend: the first copy lands just before, this one meets 412
			return advAction{lateLand: true}
		}
		return advAction{}
	}, func(i int) {
		if i == 0 {
			_, err := ws.UpdateTask(bCtx, testTask, set("b"))
			bOut <- err
			return
		}
		var bErr error
		onAttempt := ifmatch.OnAttempt(func(ai ifmatch.AttemptInfo) {
			if ai.Status == 412 && bErr == nil {
				bCancel()
				bErr = <-bOut // B's answer, given while the round still runs
				bOut <- bErr
			}
		})
		_, err := ws.UpdateTask(ctxT(t), testTask, set("c"), onAttempt)
		cOut <- err
	})
	cErr, bErr := <-cOut, <-bOut
	if a.get("b") != true || a.get("c") != true {
		t.Fatalf("the round's write did not land: %v", a.attrs)
	}
	if !errors.Is(cErr, ifmatch.ErrOutcomeUnknown) {
		t.Errorf("C: %v, want ErrOutcomeUnknown (its change landed)", cErr)
	}
	if !errors.Is(bErr, ifmatch.ErrOutcomeUnknown) {
		t.Errorf("B: %v, want ErrOutcomeUnknown: its change landed, and any other error says it did not", bErr)
	}
	if n := a.postCount(); n != 3 {
		t.Errorf("%d POSTs, want 3 (lead, the round's write, its resend)", n)
	}
}
