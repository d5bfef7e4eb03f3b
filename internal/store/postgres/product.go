package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/product"
)

// CreateProduct inserts a product.
func (s *Store) CreateProduct(ctx context.Context, p *product.Product, e audit.Entry) error {
	p.CreatedAt = e.At
	return s.tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO products (name, vendor, scheme, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
			p.Name, p.Vendor, string(p.Scheme), ts(p.CreatedAt)).Scan(&p.ID)
		if err != nil {
			return mapErr(err, "a product named "+p.Name+" already exists")
		}
		return appendAudit(ctx, tx, e)
	})
}

const productColumns = "id, name, vendor, scheme, created_at"

func scanProduct(row pgx.Row) (product.Product, error) {
	var p product.Product
	if err := row.Scan(&p.ID, &p.Name, &p.Vendor, &p.Scheme, &p.CreatedAt); err != nil {
		return product.Product{}, mapErr(err, "")
	}
	p.CreatedAt = p.CreatedAt.UTC()
	return p, nil
}

// ProductByName returns one product.
func (s *Store) ProductByName(ctx context.Context, name string) (product.Product, error) {
	return scanProduct(s.pool.QueryRow(ctx, "SELECT "+productColumns+" FROM products WHERE name = $1", name))
}

// ListProducts returns every product by name.
func (s *Store) ListProducts(ctx context.Context) ([]product.Product, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+productColumns+" FROM products ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ps := []product.Product{}
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, rows.Err()
}

// AddVersion inserts a version; its id is its place in the order added.
func (s *Store) AddVersion(ctx context.Context, v *product.Version, e audit.Entry) error {
	v.CreatedAt = e.At
	return s.tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO product_versions (product_id, version, created_at) VALUES ($1, $2, $3) RETURNING id`,
			v.ProductID, v.Version, ts(v.CreatedAt)).Scan(&v.ID)
		if err != nil {
			return mapErr(err, "version "+v.Version+" already exists")
		}
		v.Seq = v.ID
		return appendAudit(ctx, tx, e)
	})
}

// ListVersions returns every version of every product.
func (s *Store) ListVersions(ctx context.Context) ([]product.Version, error) {
	rows, err := s.pool.Query(ctx, "SELECT id, product_id, version, created_at FROM product_versions")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	vs := []product.Version{}
	for rows.Next() {
		var v product.Version
		if err := rows.Scan(&v.ID, &v.ProductID, &v.Version, &v.CreatedAt); err != nil {
			return nil, err
		}
		v.Seq, v.CreatedAt = v.ID, v.CreatedAt.UTC()
		vs = append(vs, v)
	}
	return vs, rows.Err()
}

// SetProductSLA stores a product's SLA policy (JSON; empty for the default).
func (s *Store) SetProductSLA(ctx context.Context, productID int64, policy string, e audit.Entry) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := mustAffect(tx.Exec(ctx, "UPDATE products SET sla = $1 WHERE id = $2", policy, productID)); err != nil {
			return err
		}
		return appendAudit(ctx, tx, e)
	})
}

// ProductSLA returns a product's SLA policy (JSON; empty for the default).
func (s *Store) ProductSLA(ctx context.Context, productID int64) (string, error) {
	var policy string
	err := s.pool.QueryRow(ctx, "SELECT sla FROM products WHERE id = $1", productID).Scan(&policy)
	return policy, mapErr(err, "")
}
