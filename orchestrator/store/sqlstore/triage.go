package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// SetTriage implements store.Triages.
func (s *Store) SetTriage(ctx context.Context, t store.Triage) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.Exec(ctx, tx, `INSERT INTO anomaly_triage (query, "key", state, reason, "by", at)
			VALUES (?,?,?,?,?,?) ON CONFLICT (query, "key") DO UPDATE SET state = excluded.state,
			reason = excluded.reason, "by" = excluded."by", at = excluded.at`,
			t.Query, t.Key, t.State, t.Reason, t.By, TS(t.At)); err != nil {
			return err
		}
		_, err := s.Exec(ctx, tx, `INSERT INTO anomaly_triage_history (query, "key", state, reason, "by", at)
			VALUES (?,?,?,?,?,?)`, t.Query, t.Key, t.State, t.Reason, t.By, TS(t.At))
		return err
	})
	return s.Wrap("set triage", err)
}

// TriageStates implements store.Triages.
func (s *Store) TriageStates(ctx context.Context) ([]store.Triage, error) {
	return s.triages(ctx, "triage states", `SELECT query, "key", state, reason, "by", at FROM anomaly_triage
		ORDER BY query, "key"`)
}

// TriageHistory implements store.Triages.
func (s *Store) TriageHistory(ctx context.Context, query, key string) ([]store.Triage, error) {
	return s.triages(ctx, "triage history", `SELECT query, "key", state, reason, "by", at FROM anomaly_triage_history
		WHERE query = ? AND "key" = ? ORDER BY id`, query, key)
}

func (s *Store) triages(ctx context.Context, op, q string, args ...any) ([]store.Triage, error) {
	rows, err := s.Query(ctx, s.r, q, args...)
	out, err := collect(rows, err, func(r scanner) (store.Triage, error) {
		var t store.Triage
		var at int64
		err := r.Scan(&t.Query, &t.Key, &t.State, &t.Reason, &t.By, &at)
		t.At = FromTS(at)
		return t, err
	})
	return out, s.Wrap(op, err)
}

// AddSuppressionRule implements store.Triages.
func (s *Store) AddSuppressionRule(ctx context.Context, r store.SuppressionRule) (store.SuppressionRule, error) {
	hosts, err := json.Marshal(append([]string{}, r.Hosts...))
	if err != nil {
		return r, s.Wrap("add suppression rule", err)
	}
	err = s.QueryRow(ctx, s.w, `INSERT INTO suppression_rules (query, pattern, hosts, reason, "by", at)
		VALUES (?,?,?,?,?,?) RETURNING id`, r.Query, r.Pattern, string(hosts), r.Reason, r.By, TS(r.At)).Scan(&r.ID)
	return r, s.Wrap("add suppression rule", err)
}

// SuppressionRules implements store.Triages.
func (s *Store) SuppressionRules(ctx context.Context) ([]store.SuppressionRule, error) {
	rows, err := s.Query(ctx, s.r, `SELECT id, query, pattern, hosts, reason, "by", at FROM suppression_rules ORDER BY id`)
	out, err := collect(rows, err, func(sc scanner) (store.SuppressionRule, error) {
		var r store.SuppressionRule
		var hosts string
		var at int64
		if err := sc.Scan(&r.ID, &r.Query, &r.Pattern, &hosts, &r.Reason, &r.By, &at); err != nil {
			return r, err
		}
		r.At = FromTS(at)
		return r, json.Unmarshal([]byte(hosts), &r.Hosts)
	})
	return out, s.Wrap("suppression rules", err)
}

// DeleteSuppressionRule implements store.Triages.
func (s *Store) DeleteSuppressionRule(ctx context.Context, id int64) error {
	res, err := s.Exec(ctx, s.w, `DELETE FROM suppression_rules WHERE id = ?`, id)
	return s.affected(fmt.Sprintf("delete suppression rule %d", id), res, err, store.ErrNotFound)
}
