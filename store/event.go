package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Event appends an entry to the event log: kind is a short machine-readable
// label (one of the kinds docs/schema.md lists, e.g. "start", "finish",
// "interrupt", "error"; a test checks the list), message a human sentence,
// data anything json.Marshal accepts (nil for none). studyID 0 means the
// event belongs to no study.
func (s *Store) Event(ctx context.Context, studyID int64, kind, message string, data any) error {
	if kind == "" {
		return errorf(ErrInvalid, "event: empty kind")
	}
	var text any
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return errorf(ErrInvalid, "event %q: data: %v", kind, err)
		}
		text = string(b)
	}
	var study any
	if studyID != 0 {
		study = studyID
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO events (study_id, time, kind, message, data)
			VALUES (?, ?, ?, ?, ?)`, study, formatTime(time.Now()), kind, message, text)
		return err
	})
	if isForeignKey(err) {
		return errorf(ErrNotFound, "event %q: study id %d not found", kind, studyID)
	}
	if err != nil {
		return fmt.Errorf("store: event %q: %w", kind, err)
	}
	return nil
}
