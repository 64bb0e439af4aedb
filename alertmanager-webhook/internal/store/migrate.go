package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one schema step with its inverse.
type Migration struct {
	Version  int
	Name     string
	Up, Down string
}

// LoadMigrations reads NNNN_name.up.sql / NNNN_name.down.sql pairs from dir in fsys.
func LoadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	byV := map[int]*Migration{}
	for _, e := range entries {
		name := e.Name()
		var up bool
		switch {
		case strings.HasSuffix(name, ".up.sql"):
			up = true
		case strings.HasSuffix(name, ".down.sql"):
		default:
			continue
		}
		num, rest, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and an underscore", name)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		m := byV[v]
		if m == nil {
			m = &Migration{Version: v, Name: strings.TrimSuffix(strings.TrimSuffix(rest, ".up.sql"), ".down.sql")}
			byV[v] = m
		}
		if up {
			m.Up = string(b)
		} else {
			m.Down = string(b)
		}
	}
	out := make([]Migration, 0, len(byV))
	for _, m := range byV {
		if m.Up == "" || m.Down == "" {
			return nil, fmt.Errorf("migration %d_%s: needs both .up.sql and .down.sql", m.Version, m.Name)
		}
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Migrate brings the schema to version target (-1: latest), up or down, one transaction per
// step. Both SQLite and PostgreSQL run DDL transactionally, so a failed step leaves the
// previous version intact.
func Migrate(ctx context.Context, db *sql.DB, d Dialect, ms []Migration, target int) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	cur, err := SchemaVersion(ctx, db)
	if err != nil {
		return err
	}
	if target < 0 && len(ms) > 0 {
		target = ms[len(ms)-1].Version
	}
	if target < 0 {
		target = 0
	}
	if cur > target && target >= 0 {
		for i := len(ms) - 1; i >= 0; i-- {
			m := ms[i]
			if m.Version > cur || m.Version <= target {
				continue
			}
			if err := step(ctx, db, m.Down, d.q(`DELETE FROM schema_migrations WHERE version = ?`), m.Version); err != nil {
				return fmt.Errorf("migration %d_%s down: %w", m.Version, m.Name, err)
			}
		}
		return nil
	}
	for _, m := range ms {
		if m.Version <= cur || m.Version > target {
			continue
		}
		if err := step(ctx, db, m.Up, d.q(`INSERT INTO schema_migrations (version) VALUES (?)`), m.Version); err != nil {
			return fmt.Errorf("migration %d_%s up: %w", m.Version, m.Name, err)
		}
	}
	return nil
}

func step(ctx context.Context, db *sql.DB, script, record string, v int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, script); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, record, v); err != nil {
		return err
	}
	return tx.Commit()
}

// SchemaVersion returns the applied schema version (0: empty).
func SchemaVersion(ctx context.Context, db *sql.DB) (int, error) {
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return int(v.Int64), nil
}
