package storetest

import (
	"testing"

	"github.com/dropoff-dev/dropoff/src/store"
)

// WriteDB is a write store with its change feed.
type WriteDB interface {
	store.WriteStore
	store.Feed
	store.FeedLag
}

// ProjectionDB is a projection database.
type ProjectionDB interface {
	store.Projection
	store.Queries
}

// RunWriteStore runs the write-store and change-feed behaviours; open returns
// a fresh, empty store (each subtest opens its own).
func RunWriteStore(t *testing.T, open func(t *testing.T) WriteDB) {
	tests := []struct {
		name string
		run  func(t *testing.T, db WriteDB)
	}{
		{"RecordRoundTrip", testRecordRoundTrip},
		{"FailedOperationRoundTrip", testFailedOperationRoundTrip},
		{"CancelLeavesTombstone", testCancelLeavesTombstone},
		{"UpdateRollsBackOnError", testUpdateRollsBackOnError},
		{"CommitFailureIsReported", testCommitFailureIsReported},
		{"VersionCheck", testVersionCheck},
		{"OptimisticConcurrency", testOptimisticConcurrency},
		{"OperationReplacedOnlyIfDeadLettered", testOperationReplace},
		{"IdempotencyKeyTaken", testIdempotencyKeyTaken},
		{"InboxUnderRacingWriters", testInboxUnderRacingWriters},
		{"ShipmentsListsLiveInIDOrder", testWriteShipmentsListing},
		{"FeedOrderAndPaging", testFeedOrderAndPaging},
		{"FeedOutOfOrderCommits", testFeedOutOfOrderCommits},
		{"FeedLag", testFeedLag},
		{"FeedIdentity", func(t *testing.T, db WriteDB) { testFeedIdentity(t, db, open(t)) }},
		{"TrimFeed", testTrimFeed},
		{"TrimOperations", testTrimOperations},
		{"TrimIdempotencyKeys", testTrimIdempotencyKeys},
		{"Ping", func(t *testing.T, db WriteDB) {
			if err := db.Ping(t.Context()); err != nil {
				t.Errorf("Ping: %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, open(t)) })
	}
}

// RunProjection runs the projection behaviours; open returns a fresh, empty
// projection (each subtest opens its own).
//
// One requirement is only implicit in package store: a projection refuses a
// second history entry for the same shipment version (a primary key on
// shipment id and version). The feed never produces one, and the suite uses
// such an entry to make an Apply fail halfway.
func RunProjection(t *testing.T, open func(t *testing.T) ProjectionDB) {
	tests := []struct {
		name string
		run  func(t *testing.T, p ProjectionDB)
	}{
		{"ApplyRoundTrip", testApplyRoundTrip},
		{"ApplyTwiceChangesNothing", testApplyTwiceChangesNothing},
		{"FailedApplyLeavesNoTrace", testFailedApplyLeavesNoTrace},
		{"CancelDeletesRowKeepsHistory", testCancelDeletesRowKeepsHistory},
		{"LaterEntryReplacesOperation", testLaterEntryReplacesOperation},
		{"EmptyBatchRecordsFeedHead", testEmptyBatchRecordsFeedHead},
		{"ShipmentsPagination", testShipmentsPagination},
		{"PaginationStableUnderChanges", testPaginationStableUnderChanges},
		{"ReadYourWrites", testReadYourWrites},
		{"CheckpointKnowsItsEntryAndFeed", testCheckpointKnowsItsEntryAndFeed},
		{"TrimOperations", testTrimProjectionOperations},
		{"RecentOperations", testRecentOperations},
		{"Ping", func(t *testing.T, p ProjectionDB) {
			if err := p.Ping(t.Context()); err != nil {
				t.Errorf("Ping: %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, open(t)) })
	}
}

// RunPipeline runs behaviours that need both: a random workload through the
// write store, the feed drained into the projection, then the two compared.
func RunPipeline(t *testing.T, openWrite func(t *testing.T) WriteDB, openProjection func(t *testing.T) ProjectionDB) {
	t.Run("RandomWorkloadConverges", func(t *testing.T) {
		testRandomWorkload(t, openWrite(t), openProjection(t), defaultWorkload())
	})
}
