package ifmatch_test

import (
	"context"

	"github.com/ifmatch-go/ifmatch"
)

// Hand-written stubs may spell every mutator as its plain func type: the
// mutator types are aliases, so these satisfy the interfaces (a user review
// found TaskAPI and WorkerAPI stubs refused this way while SyncAPI's were
// not). The file does not compile otherwise.
type plainTaskStub struct{ ifmatch.TaskAPI }

func (plainTaskStub) UpdateTask(context.Context, string, func(*ifmatch.Task) error, ...ifmatch.UpdateOption) (*ifmatch.Task, error) {
	return nil, nil
}

type plainWorkerStub struct{ ifmatch.WorkerAPI }

func (plainWorkerStub) UpdateWorker(context.Context, string, func(*ifmatch.Worker) error, ...ifmatch.UpdateOption) (*ifmatch.Worker, error) {
	return nil, nil
}

func (plainWorkerStub) UpdateTaskReservation(context.Context, string, string, func(*ifmatch.Reservation) error, ...ifmatch.UpdateOption) (*ifmatch.Reservation, error) {
	return nil, nil
}

type plainSyncStub struct{ ifmatch.SyncAPI }

func (plainSyncStub) UpdateDocument(context.Context, string, func(*ifmatch.Document) error, ...ifmatch.UpdateOption) (*ifmatch.Document, error) {
	return nil, nil
}

var (
	_ ifmatch.TaskAPI   = plainTaskStub{}
	_ ifmatch.WorkerAPI = plainWorkerStub{}
	_ ifmatch.SyncAPI   = plainSyncStub{}
)
