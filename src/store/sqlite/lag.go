package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/dropoff-dev/dropoff/src/store"
)

var _ store.FeedLag = (*WriteStore)(nil)

// FeedLag returns the feed's head and the commit time of the first entry
// after after (writes are serialised here, so every committed entry is
// readable).
func (s *WriteStore) FeedLag(ctx context.Context, after int64) (int64, time.Time, error) {
	head, err := s.Head(ctx)
	if err != nil {
		return 0, time.Time{}, err
	}
	var committed string
	err = s.st.nextCommittedAt.QueryRowContext(ctx, after).Scan(&committed)
	if errors.Is(err, sql.ErrNoRows) {
		return head, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("read feed lag: %w", classify(err))
	}
	next, err := parseTime(committed)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("read feed lag: %w", err)
	}
	return head, next, nil
}
