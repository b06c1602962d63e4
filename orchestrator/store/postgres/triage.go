package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// SetTriage implements store.Triages.
func (s *Store) SetTriage(ctx context.Context, t store.Triage) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO anomaly_triage (query, "key", state, reason, "by", at)
			VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (query, "key") DO UPDATE SET state = excluded.state,
			reason = excluded.reason, "by" = excluded."by", at = excluded.at`,
			t.Query, t.Key, t.State, t.Reason, t.By, ts(t.At)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO anomaly_triage_history (query, "key", state, reason, "by", at)
			VALUES ($1,$2,$3,$4,$5,$6)`, t.Query, t.Key, t.State, t.Reason, t.By, ts(t.At))
		return err
	})
	return wrap("set triage", err)
}

// TriageStates implements store.Triages.
func (s *Store) TriageStates(ctx context.Context) ([]store.Triage, error) {
	return s.triages(ctx, "triage states", `SELECT query, "key", state, reason, "by", at FROM anomaly_triage ORDER BY query, "key"`)
}

// TriageHistory implements store.Triages.
func (s *Store) TriageHistory(ctx context.Context, query, key string) ([]store.Triage, error) {
	return s.triages(ctx, "triage history", `SELECT query, "key", state, reason, "by", at FROM anomaly_triage_history
		WHERE query = $1 AND "key" = $2 ORDER BY id`, query, key)
}

func (s *Store) triages(ctx context.Context, op, q string, a ...any) ([]store.Triage, error) {
	rows, err := s.db.Query(ctx, q, a...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []store.Triage
	for rows.Next() {
		var t store.Triage
		var at int64
		if err := rows.Scan(&t.Query, &t.Key, &t.State, &t.Reason, &t.By, &at); err != nil {
			return nil, wrap(op, err)
		}
		t.At = fromTS(at)
		out = append(out, t)
	}
	return out, wrap(op, rows.Err())
}

// AddSuppressionRule implements store.Triages.
func (s *Store) AddSuppressionRule(ctx context.Context, r store.SuppressionRule) (store.SuppressionRule, error) {
	hosts, err := json.Marshal(append([]string{}, r.Hosts...))
	if err != nil {
		return r, wrap("add suppression rule", err)
	}
	err = s.db.QueryRow(ctx, `INSERT INTO suppression_rules (query, pattern, hosts, reason, "by", at)
		VALUES ($1,$2,$3,$4,$5,$6) RETURNING id`, r.Query, r.Pattern, string(hosts), r.Reason, r.By, ts(r.At)).Scan(&r.ID)
	return r, wrap("add suppression rule", err)
}

// SuppressionRules implements store.Triages.
func (s *Store) SuppressionRules(ctx context.Context) ([]store.SuppressionRule, error) {
	rows, err := s.db.Query(ctx, `SELECT id, query, pattern, hosts, reason, "by", at FROM suppression_rules ORDER BY id`)
	if err != nil {
		return nil, wrap("suppression rules", err)
	}
	defer rows.Close()
	var out []store.SuppressionRule
	for rows.Next() {
		var r store.SuppressionRule
		var hosts string
		var at int64
		if err := rows.Scan(&r.ID, &r.Query, &r.Pattern, &hosts, &r.Reason, &r.By, &at); err != nil {
			return nil, wrap("suppression rules", err)
		}
		if err := json.Unmarshal([]byte(hosts), &r.Hosts); err != nil {
			return nil, wrap("suppression rules", err)
		}
		r.At = fromTS(at)
		out = append(out, r)
	}
	return out, wrap("suppression rules", rows.Err())
}

// DeleteSuppressionRule implements store.Triages.
func (s *Store) DeleteSuppressionRule(ctx context.Context, id int64) error {
	tag, err := s.db.Exec(ctx, `DELETE FROM suppression_rules WHERE id = $1`, id)
	if err != nil {
		return wrap("delete suppression rule", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: delete suppression rule %d: %w", id, store.ErrNotFound)
	}
	return nil
}
