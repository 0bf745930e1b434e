package ifmatch

import (
	"errors"
	"log/slog"
	mrand "math/rand/v2"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/ifmatch-go/ifmatch/internal/marker"
)

// This file holds the update loop's events after a write that did not
// simply land: a 412 (conflict), and an answer that never came (settle).
// Either may hide a write of this call that landed after all (a late
// commit, a proxy that delivered the POST twice, a read served stale), so
// both end in a read-back that decides what happened, with the commit
// markers' verdict when the call has them, and ErrOutcomeUnknown when no
// read can tell.

// conflict handles a 412.
func (u *update[T]) conflict(etag string, rtt time.Duration) (*T, error) {
	if u.pending != "" {
		// Something landed on the version our unanswered write was based
		// on: perhaps that write.
		u.baseGone = true
		if u.mk == "" && !u.cfg.idempotent {
			return nil, u.last.Err // no read could tell: unknown
		}
		return u.settle(u.last.Err)
	}
	if u.fromCache && u.fb == nil {
		// Only the client's own copy was stale: read, and write again at
		// once. This is not contention; it costs no attempt. (Under Fair
		// it is: another process wrote.)
		u.free++
		u.flush(0)
		return u.reread()
	}
	u.cb.observeRTT(rtt)
	if err := u.backoffWait(); err != nil {
		return u.lastLook(err)
	}
	if v, err := u.reread(); v != nil || err != nil {
		return v, err
	}
	u.cb.observeProgress(versionGap(etag, *u.ops.etag(u.cur)))
	return nil, u.listen(etag)
}

// reread reads the resource after a refused write, tried harder than the
// first read (a failure would end a call that has written nothing). With
// markers, a read showing the call's own marker means a copy of the refused
// write landed all the same (a network that delivered it twice): that is
// the answer.
func (u *update[T]) reread() (*T, error) {
	v, err := u.readBack(u.movedOn)
	if err != nil {
		return nil, err
	}
	u.cur, u.fromCache = v, false
	if !u.copyMayHaveLanded() {
		return nil, nil
	}
	if marker.Check(u.history(v), u.token) == marker.Landed {
		return u.written(u.sent, ""), nil
	}
	if !u.doubt(v) {
		u.tell(marker.Superseded) // refused, and no copy landed: it never can
	}
	u.token = ""
	return nil, nil
}

// doubt reports whether read v leaves unproven that the write of u.token,
// refused or unanswered, did not land: no other marked write took its place
// there (see unproven). It then notes the write as unproven, and tells a
// round (and an Idempotent call's result) that it may have landed.
func (u *update[T]) doubt(v *T) bool {
	if marker.Check(u.history(v), u.token) == marker.Superseded {
		return false
	}
	w := unprovenWrite[T]{token: u.token, top: u.baseTop, sent: u.sent}
	if u.cfg.snapshot != nil {
		w.restore = u.cfg.snapshot()
	}
	u.unproven = append(u.unproven, w)
	u.maybeLanded = u.maybeLanded || u.cfg.idempotent // as after an Unknown verdict (see unchangedResult)
	u.tell(marker.Unknown)
	return true
}

// unprovenLanded returns the state an unproven earlier write produced when
// the version read shows its token: it landed after all.
func (u *update[T]) unprovenLanded() *T {
	for _, w := range u.unproven {
		if marker.Has(u.history(u.cur), w.token) {
			if w.restore != nil {
				w.restore() // the callers are answered as the run that built it left them
			}
			return u.written(w.sent, "")
		}
	}
	return nil
}

// checkUnproven is what the version read says of the unproven writes
// before the loop builds a write on it: a write whose place another marked
// write took never can land (it is dropped); one of which the read shows no
// marked write since its base, that base's newest token still there, stays
// unproven; of any other the read cannot tell (its place was pushed out of
// the history, or the history edited): the call's outcome is unknown
// (errUnproven; an Idempotent call goes on).
func (u *update[T]) checkUnproven() error {
	if len(u.unproven) == 0 {
		return nil
	}
	hist := u.history(u.cur)
	kept := u.unproven[:0]
	for _, w := range u.unproven {
		switch marker.Check(hist, w.token) {
		case marker.Superseded:
			continue
		case marker.Absent:
			if w.top == "" || marker.Has(hist, w.top) {
				kept = append(kept, w)
				continue
			}
		}
		u.maybeLanded = true
		if !u.cfg.idempotent {
			return errUnproven
		}
	}
	u.unproven = kept
	return nil
}

// movedOn accepts a read after a 412: one with a usable ETag and, while a
// copy of the refused marked write may have landed, one that shows a later
// version than the one it was refused on: another ETag, and the newest
// token of the write's base in its history, or pushed out of it by later
// ones (in the same incarnation). A read without them is stale (a replica
// behind) and cannot show the copy.
func (u *update[T]) movedOn(v *T) bool {
	if !u.hasETag(v) {
		return false
	}
	if !u.copyMayHaveLanded() {
		return true
	}
	hist := u.history(v)
	later := u.baseTop == "" || marker.Has(hist, u.baseTop) ||
		marker.PushedOut(hist, u.baseTop) && (u.ops.born == nil || u.ops.born(v) == u.baseBorn)
	return later && !sameETag(*u.ops.etag(v), u.last.ETag)
}

// copyMayHaveLanded reports a marked write answered 412 whose token no read
// has looked for yet: a copy of it may have landed all the same (a network
// that delivered it twice), which only that read can tell (see reread).
func (u *update[T]) copyMayHaveLanded() bool {
	return u.mk != "" && u.token != "" && u.pending == "" && errors.Is(u.last.Err, ErrPreconditionFailed)
}

// lastLook is a loop's last step before it gives up after a 412 (out of
// attempts or time): with markers, one read for its token, so that a write
// that landed all the same is answered as such (see reread), never as
// [ErrConflict].
func (u *update[T]) lastLook(giveUp error) (*T, error) {
	if !u.copyMayHaveLanded() || u.ctx.Err() != nil {
		return nil, giveUp
	}
	if v, err := u.reread(); v != nil && err == nil {
		return v, nil
	}
	if v := u.unprovenLanded(); v != nil {
		return v, nil
	}
	return nil, giveUp
}

// listen waits and reads once more instead of writing when the re-read
// after a short wait shows another writer in a run of writes (two or more
// new versions since our write's base): a read instead of a refused write
// and its re-read. Default backoff only; once per conflict, so no writer is
// starved by another's long run.
func (u *update[T]) listen(base string) error {
	now := *u.ops.etag(u.cur)
	if u.b != backoff.BackOff(u.cb) || u.cb.rtt <= 0 || u.slept >= listenRTT*u.cb.rtt || versionGap(base, now) < 2 {
		return nil
	}
	wait, ok := u.nextWait()
	if !ok {
		return u.giveUp()
	}
	u.c.log(u.ctx, levelConflict, "resource busy; reading again before writing", "resource", u.ops.key, "wait", wait)
	if err := u.sleep(wait); err != nil {
		return err
	}
	v, err := u.ops.fetch(u.ctx)
	if err == nil && !u.hasETag(v) {
		err = checkETag(*u.ops.etag(v))
	}
	switch {
	case err == nil:
		u.cur = v
		u.cb.observeProgress(versionGap(now, *u.ops.etag(v)))
	case u.ctx.Err() != nil:
		return err
	default:
		// Listening was optional: write with what the last read showed.
		u.c.log(u.ctx, slog.LevelInfo, "read while listening failed", "resource", u.ops.key, "error", err.Error())
	}
	return nil
}

// settle reads back after a write whose answer was lost (or a 412 on its
// resend) and decides its fate. It returns the landed version, or nil to go
// on: after a wait, with a resend (same If-Match and marker) while the
// write may still land, or with a fresh write once it never can.
func (u *update[T]) settle(cause error) (*T, error) {
	fresh, err := u.readBack(u.decisive)
	if err != nil {
		return nil, errors.Join(cause, err)
	}
	u.cur, u.fromCache = fresh, false
	v := u.verdict(fresh)
	if v != marker.Superseded || !u.doubt(fresh) {
		u.tell(v)
	}
	switch v {
	case marker.Landed:
		u.pending = ""
		return u.written(u.sent, ""), nil
	case marker.Absent:
		if u.fb != nil {
			u.fb.fault = true // the resource is at its base: nobody else wrote
		}
	case marker.Superseded:
		u.pending, u.token, u.baseGone = "", "", false
	case marker.Unknown:
		u.pending, u.token, u.baseGone, u.maybeLanded = "", "", false, true
		if !u.cfg.idempotent {
			return nil, cause
		}
	}
	return nil, u.backoffWait()
}

// tell passes a write's fate to whoever listens (a coalesced round).
func (u *update[T]) tell(v marker.Verdict) {
	if u.cfg.settled != nil {
		u.cfg.settled(v)
	}
}

// verdict tells the fate of the pending write from a read-back: Landed (our
// marker is there), Superseded (it never can land), Absent (not landed; it
// may still, the resource being at its base version) or Unknown (it may have
// landed; nothing proves otherwise).
func (u *update[T]) verdict(fresh *T) marker.Verdict {
	now := *u.ops.etag(fresh)
	// A version after the pending write's base. A read at the base itself,
	// after a 412 proved it gone, is stale (a replica behind) and shows
	// nothing of what took it.
	later := checkETag(now) == nil && !sameETag(now, u.pending)
	gone := u.baseGone || later ||
		u.ops.born != nil && u.ops.born(fresh) != u.baseBorn // created again: our base went with the old one
	if u.mk != "" {
		history := u.history(fresh)
		switch v := marker.Check(history, u.token); {
		case v == marker.Absent && gone && marker.Has(history, u.baseTop) && later:
			// A write without a marker took our base; the history is the
			// one our write extended, so ours is not hiding in an edit.
			return marker.Superseded
		case v == marker.Absent && gone:
			return marker.Unknown // the history was edited (or empty): no proof
		case v != marker.Unknown:
			return v
		}
	}
	if !gone && sameETag(now, u.pending) {
		return marker.Absent
	}
	return marker.Unknown
}

// decisive reports whether a read-back can settle the pending write: it
// has a usable ETag, or our marker decides without one.
func (u *update[T]) decisive(v *T) bool {
	if u.hasETag(v) {
		return true
	}
	vd := u.verdict(v)
	return vd == marker.Landed || vd == marker.Superseded
}

func (u *update[T]) hasETag(v *T) bool { return checkETag(*u.ops.etag(v)) == nil }

// history is the commit markers' history in v; only for a call with markers.
func (u *update[T]) history(v *T) any { return (*u.ops.obj(v))[u.mk] }

// readBack reads the resource when the call cannot go on without it, up to
// readBackTries times with growing jittered pauses, until a read is ok: a
// failed read is tried again when it may succeed (no answer, 429, 5xx), and
// so is one that ok refuses (an answer without a usable ETag, or one at a
// version known gone: see movedOn).
func (u *update[T]) readBack(ok func(*T) bool) (*T, error) {
	pause := max(2*u.cb.rtt, time.Millisecond)
	var err error
	for i := 0; i < readBackTries; i++ {
		if i > 0 {
			if serr := sleepCtx(u.ctx, pause/2+mrand.N(pause/2+1)); serr != nil {
				return nil, err
			}
			pause = min(pause*2, time.Second)
		}
		var v *T
		v, err = u.ops.fetch(u.ctx)
		u.observeRead(i+1, err)
		switch {
		case err == nil && ok(v):
			return v, nil
		case err == nil:
			if err = checkETag(*u.ops.etag(v)); err == nil {
				err = errStaleRead
			}
		case u.ctx.Err() != nil || !transient(err):
			return nil, err
		}
	}
	return nil, err
}
