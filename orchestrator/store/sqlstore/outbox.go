package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// maxOutboxError bounds the last error kept with an item.
const maxOutboxError = 512

// Enqueue implements store.Outbox, in one transaction.
func (s *Store) Enqueue(ctx context.Context, items []store.OutboxItem) (int, error) {
	for _, it := range items {
		if it.Destination == "" || it.Key == "" {
			return 0, s.errorf("enqueue: destination and key are required")
		}
	}
	n := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, it := range items {
			res, err := s.Exec(ctx, tx, `INSERT INTO outbox (destination, dedupe_key, payload, created_at, state,
				next_attempt) VALUES (?,?,?,?,?,?) ON CONFLICT (destination, dedupe_key) DO NOTHING`,
				it.Destination, it.Key, it.Payload, TS(it.Created), store.OutboxQueued, TS(it.Created))
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += int(k)
		}
		return nil
	})
	if err != nil {
		return 0, s.Wrap("enqueue", err)
	}
	return n, nil
}

const outboxColumns = `id, destination, dedupe_key, payload, created_at, state, attempts, next_attempt, last_error,
	delivered_at`

func scanOutbox(r scanner) (store.OutboxItem, error) {
	var it store.OutboxItem
	var created, next, delivered int64
	err := r.Scan(&it.ID, &it.Destination, &it.Key, &it.Payload, &created, &it.State, &it.Attempts, &next,
		&it.LastError, &delivered)
	it.Created, it.NextAttempt, it.DeliveredAt = FromTS(created), FromTS(next), FromTS(delivered)
	return it, err
}

// NextOutbox implements store.Outbox.
func (s *Store) NextOutbox(ctx context.Context, destination string, now time.Time, limit int) ([]store.OutboxItem, error) {
	if limit <= 0 {
		limit = 1
	}
	rows, err := s.Query(ctx, s.w, `SELECT `+outboxColumns+` FROM outbox WHERE destination = ? AND state = ?
		ORDER BY id LIMIT ?`, destination, store.OutboxQueued, limit)
	out, err := collect(rows, err, scanOutbox)
	if err != nil {
		return nil, s.Wrap("next outbox", err)
	}
	if len(out) > 0 && out[0].NextAttempt.After(now) {
		return nil, nil
	}
	return out, nil
}

// MarkDelivered implements store.Outbox.
func (s *Store) MarkDelivered(ctx context.Context, ids []int64, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.Exec(ctx, s.w, `UPDATE outbox SET state = ?, delivered_at = ? WHERE state = ? AND `+
		s.in("id", "bigint"), store.OutboxDelivered, TS(now), store.OutboxQueued, s.d.List(ids))
	return s.Wrap("mark delivered", err)
}

// MarkFailed implements store.Outbox.
func (s *Store) MarkFailed(ctx context.Context, ids []int64, errMsg string, next time.Time, maxAttempts int) error {
	if len(ids) == 0 {
		return nil
	}
	if len(errMsg) > maxOutboxError {
		errMsg = errMsg[:maxOutboxError]
	}
	_, err := s.Exec(ctx, s.w, `UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ?,
		state = CASE WHEN attempts + 1 >= ? THEN ? ELSE state END WHERE state = ? AND `+s.in("id", "bigint"),
		TS(next), errMsg, maxAttempts, store.OutboxDead, store.OutboxQueued, s.d.List(ids))
	return s.Wrap("mark failed", err)
}

// OutboxStats implements store.Outbox.
func (s *Store) OutboxStats(ctx context.Context) ([]store.OutboxStats, error) {
	rows, err := s.Query(ctx, s.r, `SELECT destination,
		SUM(CASE WHEN state = 'queued' THEN 1 ELSE 0 END),
		SUM(CASE WHEN state = 'queued' AND attempts > 0 THEN 1 ELSE 0 END),
		SUM(CASE WHEN state = 'delivered' THEN 1 ELSE 0 END),
		SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END),
		COALESCE(MIN(CASE WHEN state = 'queued' THEN created_at END), 0)
		FROM outbox GROUP BY destination ORDER BY destination`)
	out, err := collect(rows, err, func(r scanner) (store.OutboxStats, error) {
		var st store.OutboxStats
		var oldest int64
		err := r.Scan(&st.Destination, &st.Queued, &st.Retrying, &st.Delivered, &st.Dead, &oldest)
		st.OldestQueued = FromTS(oldest)
		return st, err
	})
	return out, s.Wrap("outbox stats", err)
}

// PruneOutbox implements store.Outbox.
func (s *Store) PruneOutbox(ctx context.Context, before time.Time, limit int) (int64, error) {
	res, err := s.Exec(ctx, s.w, `DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE state <> ?
		AND created_at < ? LIMIT ?)`, store.OutboxQueued, TS(before), limit)
	if err != nil {
		return 0, s.Wrap("prune outbox", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
