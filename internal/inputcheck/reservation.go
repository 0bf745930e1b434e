package inputcheck

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// reservationParams are the form fields of the spec's
// UpdateWorkerReservation; UpdateTaskReservation takes these and
// taskOnlyReservationParams.
var reservationParams = strings.Fields(`ReservationStatus WorkerActivitySid Instruction DequeuePostWorkActivitySid
DequeueFrom DequeueRecord DequeueTimeout DequeueTo DequeueStatusCallbackUrl CallFrom CallRecord CallTimeout CallTo
CallUrl CallStatusCallbackUrl CallAccept RedirectCallSid RedirectAccept RedirectUrl To From StatusCallback
StatusCallbackMethod StatusCallbackEvent Timeout Record Muted Beep StartConferenceOnEnter EndConferenceOnExit WaitUrl
WaitMethod EarlyMedia MaxParticipants ConferenceStatusCallback ConferenceStatusCallbackMethod
ConferenceStatusCallbackEvent ConferenceRecord ConferenceTrim RecordingChannels RecordingStatusCallback
RecordingStatusCallbackMethod ConferenceRecordingStatusCallback ConferenceRecordingStatusCallbackMethod Region
SipAuthUsername SipAuthPassword DequeueStatusCallbackEvent PostWorkActivitySid EndConferenceOnCustomerExit
BeepOnCustomerEntrance JitterBufferSize`)

// taskOnlyReservationParams are the form fields of UpdateTaskReservation
// that UpdateWorkerReservation does not take.
var taskOnlyReservationParams = []string{"Supervisor", "SupervisorMode"}

// typedReservationParams maps the form fields that ReservationUpdate has a
// typed field for to that field: Params must not carry them, or it would
// bypass the typed field's check (or be silently overridden by it).
var typedReservationParams = map[string]string{
	"ReservationStatus":   "ReservationStatus",
	"WorkerActivitySid":   "WorkerActivitySID",
	"Instruction":         "Instruction",
	"PostWorkActivitySid": "PostWorkActivitySID",
}

// ReservationParams returns the form fields a reservation update takes by
// the spec: UpdateTaskReservation's, or UpdateWorkerReservation's when
// workerPath is set.
func ReservationParams(workerPath bool) []string {
	if workerPath {
		return slices.Clone(reservationParams)
	}
	return append(slices.Clone(reservationParams), taskOnlyReservationParams...)
}

// CheckReservationParams reports, wrapping invalid (the caller's
// ErrInvalidArgument), the first key of params (in sorted order) that a
// ReservationUpdate may not carry there: a field with a typed
// ReservationUpdate field (the message names it), a field the operation
// does not take (Supervisor and SupervisorMode on the Worker path), or one
// that is no form field of a reservation update at all.
func CheckReservationParams(invalid error, params url.Values, workerPath bool) error {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch {
		case typedReservationParams[k] != "":
			return fmt.Errorf("%w: ReservationUpdate.Params[%q]: use the field ReservationUpdate.%s instead (it is checked before sending)",
				invalid, k, typedReservationParams[k])
		case workerPath && slices.Contains(taskOnlyReservationParams, k):
			return fmt.Errorf("%w: ReservationUpdate.Params[%q] is a form field of a Task reservation update only (UpdateTaskReservation); the Worker reservation path does not take it",
				invalid, k)
		case !slices.Contains(reservationParams, k) && !slices.Contains(taskOnlyReservationParams, k):
			return fmt.Errorf("%w: ReservationUpdate.Params[%q] is not a form field of a reservation update", invalid, clip(k))
		}
	}
	return nil
}
