package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
)

const huntColumns = `id, name, description, pack, queries, targets, mode, schedule, "interval", timeout_ms, enabled,
	builtin, created_by, created_at, updated_at`

func scanHunt(r scanner) (store.Hunt, error) {
	var h store.Hunt
	var queries, targets string
	var timeout, created, updated int64
	err := r.Scan(&h.ID, &h.Name, &h.Description, &h.Pack, &queries, &targets, &h.Mode, &h.Schedule, &h.Interval,
		&timeout, &h.Enabled, &h.Builtin, &h.CreatedBy, &created, &updated)
	if err != nil {
		return h, err
	}
	if err := json.Unmarshal([]byte(queries), &h.Queries); err != nil {
		return h, fmt.Errorf("hunt %s: queries: %w", h.Name, err)
	}
	if err := json.Unmarshal([]byte(targets), &h.Targets); err != nil {
		return h, fmt.Errorf("hunt %s: targets: %w", h.Name, err)
	}
	if len(h.Queries) == 0 {
		h.Queries = nil
	}
	h.Timeout = time.Duration(timeout) * time.Millisecond
	h.CreatedAt, h.UpdatedAt = FromTS(created), FromTS(updated)
	return h, nil
}

// huntArgs returns the stored form of h's columns name … created_by.
func huntArgs(h store.Hunt) ([]any, error) {
	q := h.Queries
	if q == nil {
		q = []string{}
	}
	qb, err := json.Marshal(q)
	if err != nil {
		return nil, err
	}
	tb, err := json.Marshal(h.Targets)
	if err != nil {
		return nil, err
	}
	return []any{h.Name, h.Description, h.Pack, string(qb), string(tb), h.Mode, h.Schedule, h.Interval,
		h.Timeout.Milliseconds(), h.Enabled, h.Builtin, h.CreatedBy}, nil
}

// createHunt inserts h; a taken name is ErrConflict and leaves the transaction
// usable (ON CONFLICT DO NOTHING instead of a failed statement).
func (s *Store) createHunt(ctx context.Context, tx *sql.Tx, h store.Hunt, now time.Time) (int64, error) {
	args, err := huntArgs(h)
	if err != nil {
		return 0, err
	}
	id, err := scanID(s.QueryRow(ctx, tx, `INSERT INTO hunts (name, description, pack, queries, targets, mode, schedule,
		"interval", timeout_ms, enabled, builtin, created_by, created_at, updated_at)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (name) DO NOTHING RETURNING id`,
		append(args, TS(now), TS(now))...))
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("hunt %q exists: %w", h.Name, store.ErrConflict)
	}
	return id, err
}

// CreateHunt implements store.Hunts.
func (s *Store) CreateHunt(ctx context.Context, h store.Hunt, now time.Time) (store.Hunt, error) {
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = s.createHunt(ctx, tx, h, now)
		return err
	})
	if err != nil {
		return store.Hunt{}, s.Wrap("create hunt", err)
	}
	return s.huntBy(ctx, s.w, "id", id)
}

// UpdateHunt implements store.Hunts.
func (s *Store) UpdateHunt(ctx context.Context, h store.Hunt, now time.Time) (store.Hunt, error) {
	args, err := huntArgs(h)
	if err != nil {
		return store.Hunt{}, s.Wrap("update hunt", err)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.Exec(ctx, tx, `UPDATE hunts SET name = ?, description = ?, pack = ?, queries = ?, targets = ?,
			mode = ?, schedule = ?, "interval" = ?, timeout_ms = ?, enabled = ?, builtin = ?, created_by = ?,
			updated_at = ? WHERE id = ?`, append(args, TS(now), h.ID)...)
		if err != nil && s.d.IsUnique(err) {
			return fmt.Errorf("hunt %q exists: %w", h.Name, store.ErrConflict)
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return sql.ErrNoRows
		}
		return nil
	})
	if err != nil {
		return store.Hunt{}, s.Wrap("update hunt", err)
	}
	return s.huntBy(ctx, s.w, "id", h.ID)
}

// DeleteHunt implements store.Hunts.
func (s *Store) DeleteHunt(ctx context.Context, name string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		id, err := scanID(s.QueryRow(ctx, tx, `DELETE FROM hunts WHERE name = ? RETURNING id`, name))
		if err != nil {
			return err
		}
		_, err = s.Exec(ctx, tx, `DELETE FROM hunt_watermarks WHERE hunt_id = ?`, id)
		return err
	})
	return s.Wrap("delete hunt", err)
}

// huntBy returns the hunt whose column (id or name) is v.
func (s *Store) huntBy(ctx context.Context, on Runner, column string, v any) (store.Hunt, error) {
	h, err := scanHunt(s.QueryRow(ctx, on, `SELECT `+huntColumns+` FROM hunts WHERE `+column+` = ?`, v))
	return h, s.Wrap("hunt", err)
}

// Hunt implements store.Hunts.
func (s *Store) Hunt(ctx context.Context, name string) (store.Hunt, error) {
	return s.huntBy(ctx, s.r, "name", name)
}

// ListHunts implements store.Hunts.
func (s *Store) ListHunts(ctx context.Context) ([]store.Hunt, error) {
	rows, err := s.Query(ctx, s.r, `SELECT `+huntColumns+` FROM hunts ORDER BY name`)
	out, err := collect(rows, err, scanHunt)
	return out, s.Wrap("list hunts", err)
}

// SeedHunts implements store.Hunts.
func (s *Store) SeedHunts(ctx context.Context, hs []store.Hunt, now time.Time) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		n = 0
		res, err := s.Exec(ctx, tx, `INSERT INTO hunt_meta ("key", value) VALUES ('seeded', ?) ON CONFLICT ("key") DO NOTHING`,
			now.UTC().Format(time.RFC3339))
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return nil // seeded before
		}
		for _, h := range hs {
			_, err := s.createHunt(ctx, tx, h, now)
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			if err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, s.Wrap("seed hunts", err)
}
